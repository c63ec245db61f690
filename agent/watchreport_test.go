package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/efssync/efssync/agent/report"

	"github.com/efssync/efssync/internal/treetest"
)

// A watch job's rescans report what they change, not every unchanged file
// again, and the summary counts each file once however many passes see it.
func TestWatchRescanReportsNoSkipsAndCountsFilesOnce(t *testing.T) {
	f := newFixture(t, 1)
	f.extra = "    mode: watch\n"
	treetest.Write(t, f.src, map[string]string{"a": "1", "d/b": "2", "d/c": "3"})
	a, err := New(f.config(), Options{})
	must(t, err)
	defer a.Close()
	path := filepath.Join(f.dir, "report.jsonl")
	rep, err := report.Open(path)
	must(t, err)
	c := &report.Counters{}
	j, l, err := a.newWatchRun(context.Background(), a.cfg.Jobs[0], rep, c)
	must(t, err)
	ctx := context.Background()
	l.ctx = ctx
	stop := j.startRecorder(ctx)
	must(t, j.pass(ctx))
	must(t, stop()) // the initial pass is recorded before the rescans
	stop = j.startRecorder(ctx)
	for range 3 {
		l.rescan(ctx)
		l.followWG.Wait()
	}
	treetest.Write(t, f.src, map[string]string{"d/new": "4"})
	l.rescan(ctx)
	l.followWG.Wait()
	must(t, stop())
	must(t, rep.Close())

	b, err := os.ReadFile(path)
	must(t, err)
	if n := strings.Count(string(b), `"status":"skipped"`); n != 0 {
		t.Errorf("rescans wrote %d skipped lines:\n%s", n, b)
	}
	if n := strings.Count(string(b), `"status":"copied"`); n != 4 {
		t.Errorf("want 4 copied lines (3 at the start, 1 new), got %d:\n%s", n, b)
	}
	var sum Summary
	c.AddTo(&sum)
	if sum.Files != 4 || sum.Copied != 4 || sum.Skipped != 0 {
		t.Errorf("summary %+v: want 4 files (3 at the start, 1 new to a rescan) and 4 copies", sum)
	}
}

// The configuration's reports section rotates a run's report: a run that
// writes more than reports.max_size leaves several files, and every line
// is in one of them.
func TestRunReportRotatesBySize(t *testing.T) {
	f := newFixture(t, 1)
	treetest.Random(t, f.src, 9, 60, 512)
	f.extra = "reports:\n  max_size: 4KiB\n"
	f.run(Options{})
	files, err := filepath.Glob(filepath.Join(f.config().ReportDir, "run-*.jsonl"))
	must(t, err)
	if len(files) < 2 {
		t.Fatalf("report files %v: want a rotation past 4KiB", files)
	}
	copied := 0
	for _, p := range files {
		b, err := os.ReadFile(p)
		must(t, err)
		copied += strings.Count(string(b), `"status":"copied"`)
	}
	if copied != 60 {
		t.Fatalf("%d copied lines across %d files, want 60", copied, len(files))
	}
}
