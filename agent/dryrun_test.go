package agent

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/efssync/efssync/agent/send"
	"github.com/efssync/efssync/internal/miniotest"
	"github.com/efssync/efssync/internal/treetest"
)

// sendCount counts the sources handed to the sender.
type sendCount struct{ n atomic.Int64 }

func (c *sendCount) Source(_ string, src send.Source) send.Source {
	c.n.Add(1)
	return src
}

// TestDryRunReadsNoSourceFile: a dry run plans every copy and link to
// every destination from the walk alone; no file is read (a dry run of a
// 10 TB migration must not take the time of a copy).
func TestDryRunReadsNoSourceFile(t *testing.T) {
	f := newFixture(t, 2)
	rels := treetest.Random(t, f.src, 2, 12, 256<<10)
	must(t, os.Link(filepath.Join(f.src, rels[0]), filepath.Join(f.src, "second-name")))
	var sends sendCount
	var plan bytes.Buffer
	sum := f.run(Options{DryRun: true, PlanOut: &plan, Sources: &sends})
	if n := sends.n.Load(); n != 0 {
		t.Fatalf("the dry run sent %d files", n)
	}
	if sum.Planned < int64(len(rels)) || sum.Copied != 0 || sum.Bytes != 0 {
		t.Fatalf("dry run: %+v", sum)
	}
	for _, d := range f.dests {
		for _, rel := range rels[1:] { // rels[0] has a second name: one is copied, one linked
			if want := fmt.Sprintf("job\tcopy\t%s\t%q\n", d, rel); !strings.Contains(plan.String(), want) {
				t.Errorf("plan lacks %q:\n%s", want, plan.String())
			}
		}
		if got := treetest.Snapshot(t, d, nil); len(got) != 0 {
			t.Fatalf("dry run wrote to %s: %v", d, got)
		}
	}
	if n := strings.Count(plan.String(), "\tlink\t"); n != len(f.dests) {
		t.Errorf("plan links %d names, want one name of the hard-linked file per destination:\n%s", n, plan.String())
	}

	// The real run sends what the dry run planned.
	if sum := f.run(Options{Sources: &sends}); !sum.OK() || sends.n.Load() < int64(len(rels)) {
		t.Fatalf("real run: %+v, %d sent", sum, sends.n.Load())
	}
	for _, d := range f.dests {
		treetest.Equal(t, f.src, d)
	}
}

// TestDryRunOfRestoreMakesNoGET: a dry run of a restore plans every object
// from the listing and makes no GET (each costs a request and its bytes'
// egress); the real run then reads each object once.
func TestDryRunOfRestoreMakesNoGET(t *testing.T) {
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "dry")
	setS3Env(t, srv)
	want := map[string]string{"a": "one", "d/b": "two", "d/e/c": strings.Repeat("three", 1000)}
	for k, v := range want {
		put(t, srv, "dry", "p/"+k, v)
	}
	cnt := newS3Counter(t, srv)
	r := restoreFixture(t, "dry", "p", cnt.URL, 2, "")
	var plan bytes.Buffer
	sum := r.run(Options{DryRun: true, PlanOut: &plan})
	if !sum.OK() || sum.Planned != int64(len(want)) || sum.Copied != 0 {
		t.Fatalf("dry run: %+v\n%s", sum, plan.String())
	}
	if n := cnt.gets.Load(); n != 0 {
		t.Fatalf("the dry run of a restore made %d GETs", n)
	}
	for _, d := range r.dests {
		for rel := range want {
			if w := fmt.Sprintf("copy\t%s\t%q\n", d, rel); !strings.Contains(plan.String(), w) {
				t.Errorf("plan lacks %q:\n%s", w, plan.String())
			}
		}
		if got := treetest.Snapshot(t, d, nil); len(got) != 0 {
			t.Fatalf("dry run wrote to %s: %v", d, got)
		}
	}
	if sum, rep := runSummary(t, r); !sum.OK() || sum.Copied != int64(len(want)) {
		t.Fatalf("restore: %+v\n%s", sum, rep)
	}
	if n := cnt.gets.Load(); n != int64(len(want)) {
		t.Errorf("the restore made %d GETs, want one per object", n)
	}
	for _, d := range r.dests {
		wantFiles(t, d, want)
	}
}

// TestDryRunOfArchivePlansTheRemoval: with after_archive: delete, a dry run
// prints, after each copy, the removal of its source, once, and keeps every
// source; for a file already archived by an earlier run but not yet
// removed, it verifies the copy as a real run would and plans the removal.
// Nothing fails for want of a copy the dry run did not make.
func TestDryRunOfArchivePlansTheRemoval(t *testing.T) {
	f := newFixture(t, 1)
	f.extra = "    finished: {quiet: 60s}\n"
	treetest.Write(t, f.src, map[string]string{"old.mp4": "archived, not removed"})
	old := time.Now().Add(-2 * time.Minute)
	must(t, os.Chtimes(filepath.Join(f.src, "old.mp4"), old, old))
	if sum := f.run(Options{}); !sum.OK() || sum.Copied != 1 {
		t.Fatalf("first run: %+v", sum)
	}
	treetest.Write(t, f.src, map[string]string{"new.mp4": "not copied yet"})
	must(t, os.Chtimes(filepath.Join(f.src, "new.mp4"), old, old))
	f.extra += "    after_archive: delete\n"
	var plan bytes.Buffer
	sum := f.run(Options{DryRun: true, PlanOut: &plan})
	if !sum.OK() {
		t.Fatalf("dry run: %+v\n%s", sum, plan.String())
	}
	want := fmt.Sprintf("job\tcopy\t%s\t\"new.mp4\"\njob\tarchived\t\"new.mp4\"\n", f.dests[0])
	if !strings.Contains(plan.String(), want) || !strings.Contains(plan.String(), "job\tarchived\t\"old.mp4\"\n") {
		t.Errorf("plan:\n%s\nwant the copy of new.mp4 followed by its removal, and the removal of old.mp4", plan.String())
	}
	if n := strings.Count(plan.String(), "\n"); n != 3 {
		t.Errorf("plan has %d lines, want 3:\n%s", n, plan.String())
	}
	for _, rel := range []string{"old.mp4", "new.mp4"} {
		if _, err := os.Stat(filepath.Join(f.src, rel)); err != nil {
			t.Errorf("the dry run removed the source %s: %v", rel, err)
		}
	}
	if _, err := os.Stat(filepath.Join(f.dests[0], "new.mp4")); err == nil {
		t.Error("the dry run copied new.mp4")
	}
}
