package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/efssync/efssync/agent/report"

	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/internal/treetest"
)

// fixture is a source, destinations and a state dir in one temp dir.
type fixture struct {
	t     *testing.T
	dir   string
	src   string
	dests []string
	extra string // appended to the job's YAML
	s3    string // destination lines added after the fs ones
	// srcYAML, when set, is the job's source instead of src (an S3 source).
	srcYAML string
}

func newFixture(t *testing.T, ndest int) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{t: t, dir: dir, src: filepath.Join(dir, "src")}
	must(t, os.MkdirAll(f.src, 0o755))
	for i := range ndest {
		d := filepath.Join(dir, fmt.Sprintf("dst%d", i))
		must(t, os.MkdirAll(d, 0o755))
		f.dests = append(f.dests, d)
	}
	return f
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) config() *config.Config {
	f.t.Helper()
	return f.configB(f.t)
}

func (f *fixture) configB(tb testing.TB) *config.Config {
	tb.Helper()
	var b strings.Builder
	if len(f.dests) == 0 && f.s3 == "" {
		tb.Fatal("fixture without destinations")
	}
	source := f.src
	if f.srcYAML != "" {
		source = f.srcYAML
	}
	fmt.Fprintf(&b, "state_dir: %s\njobs:\n  - name: job\n    source: %s\n    destinations:\n", filepath.Join(f.dir, "state"), source)
	for _, d := range f.dests {
		fmt.Fprintf(&b, "      - {type: fs, path: %s}\n", d)
	}
	b.WriteString(f.s3)
	b.WriteString(f.extra)
	p := filepath.Join(f.dir, "config.yaml")
	must(tb, os.WriteFile(p, []byte(b.String()), 0o600))
	cfg, err := config.Load(p, nil)
	if err != nil {
		tb.Fatalf("config: %v\n%s", err, b.String())
	}
	return cfg
}

// run runs the job once and returns the summary; hook, when set, is
// installed on the job run before it starts.
func (f *fixture) run(opts Options) *Summary {
	f.t.Helper()
	a, err := New(f.config(), opts)
	must(f.t, err)
	defer a.Close()
	sum, err := a.Run(context.Background())
	must(f.t, err)
	return sum
}

func TestFirstRunCopiesAndSecondRunReadsNothing(t *testing.T) {
	f := newFixture(t, 2)
	treetest.Random(t, f.src, 1, 200, 64<<10)
	treetest.Write(t, f.src, map[string]string{"empty": "", "top.txt": "top"})
	sum := f.run(Options{})
	if !sum.OK() || sum.Copied != 202 {
		t.Fatalf("first run: %+v", sum)
	}
	for _, d := range f.dests {
		treetest.Equal(t, f.src, d)
	}
	sum = f.run(Options{})
	if sum.Copied != 0 || sum.Bytes != 0 || sum.Opened != 0 {
		t.Fatalf("unchanged second run copied %d files, %d bytes, opened %d", sum.Copied, sum.Bytes, sum.Opened)
	}
}

func TestAddedModifiedRemoved(t *testing.T) {
	f := newFixture(t, 1)
	f.extra = "    delete: mirror\n    max_delete: \"100%\"\n"
	treetest.Write(t, f.src, map[string]string{"a": "1", "b/c": "2", "b/d": "3", "keep": "k"})
	f.run(Options{})
	must(t, os.WriteFile(filepath.Join(f.src, "a"), []byte("changed, longer"), 0o644))
	must(t, os.RemoveAll(filepath.Join(f.src, "b")))
	treetest.Write(t, f.src, map[string]string{"new/e": "4"})
	sum := f.run(Options{})
	if !sum.OK() || sum.Copied != 2 || sum.Deleted != 3 {
		t.Fatalf("second run: %+v", sum)
	}
	treetest.Equal(t, f.src, f.dests[0])
}

func TestDryRunChangesNothing(t *testing.T) {
	f := newFixture(t, 1)
	treetest.Write(t, f.src, map[string]string{"a": "1", "d/b": "2"})
	var plan bytes.Buffer
	sum := f.run(Options{DryRun: true, PlanOut: &plan})
	if !sum.OK() {
		t.Fatalf("dry run: %+v", sum)
	}
	if got := treetest.Snapshot(t, f.dests[0], nil); len(got) != 0 {
		t.Fatalf("dry run wrote to the destination: %v", got)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "state", "manifest.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("dry run created the manifest: %v", err)
	}
	if !strings.Contains(plan.String(), `"d/b"`) {
		t.Fatalf("plan does not list d/b:\n%s", plan.String())
	}
}

func TestSourceChangedDuringCopyIsNotPublished(t *testing.T) {
	f := newFixture(t, 1)
	treetest.Write(t, f.src, map[string]string{"growing": "first version"})
	a, err := New(f.config(), Options{})
	must(t, err)
	defer a.Close()
	c := &report.Counters{}
	rep, _ := report.Open("")
	j, err := a.newJobRun(context.Background(), a.cfg.Jobs[0], rep, c)
	must(t, err)
	j.a.opts.Sources = readHook(func(rel string) {
		fh, err := os.OpenFile(filepath.Join(f.src, rel), os.O_APPEND|os.O_WRONLY, 0)
		must(t, err)
		_, _ = fh.WriteString(" and more")
		fh.Close()
	})
	must(t, j.syncOnce(context.Background()))
	if c.Changed.Load() != 1 {
		t.Fatalf("changed = %d, want 1", c.Changed.Load())
	}
	if _, err := os.Stat(filepath.Join(f.dests[0], "growing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a file that changed during its copy was published: %v", err)
	}
	if left := treetest.Leftovers(t, f.dests[0]); len(left) > 0 {
		t.Fatalf("temp files left: %v", left)
	}
	if _, ok, _ := a.db.Get("job", "growing"); ok {
		t.Fatal("manifest records a file that was not published")
	}
	a.Close()
	sum := f.run(Options{})
	if !sum.OK() || sum.Copied != 1 {
		t.Fatalf("next run: %+v", sum)
	}
	treetest.Equal(t, f.src, f.dests[0])
}

func TestAwkwardNames(t *testing.T) {
	f := newFixture(t, 1)
	long := strings.Repeat("x", 255)
	names := []string{"with space", "new\nline", "bad\xff\xfeutf8", long, "ünïcødé", "dir with space/" + long}
	for _, n := range names {
		treetest.Write(t, f.src, map[string]string{n: "content of " + n})
	}
	sum := f.run(Options{})
	if !sum.OK() {
		t.Fatalf("run: %+v", sum)
	}
	treetest.Equal(t, f.src, f.dests[0])
	if sum = f.run(Options{}); sum.Copied != 0 {
		t.Fatalf("second run copied %d", sum.Copied)
	}
}

func TestSymlinksAreCopiedNotFollowed(t *testing.T) {
	f := newFixture(t, 1)
	outside := filepath.Join(f.dir, "outside")
	must(t, os.MkdirAll(outside, 0o755))
	treetest.Write(t, outside, map[string]string{"secret": "must not be copied"})
	treetest.Write(t, f.src, map[string]string{"d/file": "x"})
	must(t, os.Symlink("..", filepath.Join(f.src, "d", "loop")))
	must(t, os.Symlink("self", filepath.Join(f.src, "self")))
	must(t, os.Symlink(outside, filepath.Join(f.src, "out")))
	must(t, os.Symlink("../../outside/secret", filepath.Join(f.src, "d", "rel-out")))
	sum := f.run(Options{})
	if !sum.OK() {
		t.Fatalf("run: %+v", sum)
	}
	treetest.Equal(t, f.src, f.dests[0])
	if _, err := os.Stat(filepath.Join(f.dests[0], "out", "secret")); err == nil {
		fi, _ := os.Lstat(filepath.Join(f.dests[0], "out"))
		if fi.Mode()&os.ModeSymlink == 0 {
			t.Fatal("symlink out of the root was followed")
		}
	}
}

func TestHardLinksStayLinked(t *testing.T) {
	f := newFixture(t, 1)
	treetest.Write(t, f.src, map[string]string{"a/one": "shared content"})
	must(t, os.Link(filepath.Join(f.src, "a", "one"), filepath.Join(f.src, "two")))
	sum := f.run(Options{})
	if !sum.OK() || sum.Links != 1 {
		t.Fatalf("run: %+v", sum)
	}
	treetest.Equal(t, f.src, f.dests[0])
}

func TestMirrorDeleteGuard(t *testing.T) {
	f := newFixture(t, 1)
	f.extra = "    delete: mirror\n    max_delete: \"2\"\n"
	files := map[string]string{}
	for i := range 10 {
		files[fmt.Sprintf("f%d", i)] = "x"
	}
	treetest.Write(t, f.src, files)
	f.run(Options{})

	t.Run("too many", func(t *testing.T) {
		for i := range 5 {
			must(t, os.Remove(filepath.Join(f.src, fmt.Sprintf("f%d", i))))
		}
		a, err := New(f.config(), Options{})
		must(t, err)
		sum, err := a.Run(context.Background())
		a.Close()
		must(t, err)
		if len(sum.JobErrors) != 1 || !errors.Is(sum.JobErrors[0], ErrDeleteRefused) {
			t.Fatalf("want refusal, got %v", sum.JobErrors)
		}
		if n := len(treetest.Snapshot(t, f.dests[0], nil)); n != 10 {
			t.Fatalf("guard let %d files go", 10-n)
		}
	})
	t.Run("empty source", func(t *testing.T) {
		must(t, os.RemoveAll(f.src))
		must(t, os.MkdirAll(f.src, 0o755))
		f.extra = "    delete: mirror\n    max_delete: \"100%\"\n"
		a, err := New(f.config(), Options{})
		must(t, err)
		sum, err := a.Run(context.Background())
		a.Close()
		must(t, err)
		if len(sum.JobErrors) != 1 || !strings.Contains(sum.JobErrors[0].Error(), "empty") {
			t.Fatalf("want empty-source refusal, got %v", sum.JobErrors)
		}
		if n := len(treetest.Snapshot(t, f.dests[0], nil)); n != 10 {
			t.Fatalf("guard let %d files go", 10-n)
		}
	})
	t.Run("missing source", func(t *testing.T) {
		must(t, os.RemoveAll(f.src))
		a, err := New(f.config(), Options{})
		must(t, err)
		sum, err := a.Run(context.Background())
		a.Close()
		must(t, err)
		if len(sum.JobErrors) != 1 || !strings.Contains(sum.JobErrors[0].Error(), "mounted") {
			t.Fatalf("want missing-source error, got %v", sum.JobErrors)
		}
		if n := len(treetest.Snapshot(t, f.dests[0], nil)); n != 10 {
			t.Fatalf("%d files went", 10-n)
		}
	})
}

func TestNewDestinationIsCaughtUp(t *testing.T) {
	f := newFixture(t, 1)
	treetest.Random(t, f.src, 2, 20, 4096)
	f.run(Options{})
	d2 := filepath.Join(f.dir, "late")
	must(t, os.MkdirAll(d2, 0o755))
	f.dests = append(f.dests, d2)
	sum := f.run(Options{})
	if !sum.OK() || sum.Copied != 20 {
		t.Fatalf("catch-up run: %+v", sum)
	}
	treetest.Equal(t, f.src, d2)
}

func TestReportListsEveryFile(t *testing.T) {
	f := newFixture(t, 2)
	treetest.Write(t, f.src, map[string]string{"a": "1", "b": "2"})
	rp := filepath.Join(f.dir, "report.jsonl")
	f.run(Options{ReportPath: rp})
	data, err := os.ReadFile(rp)
	must(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 6 || !strings.Contains(lines[0], `"status":"started"`) || !strings.Contains(lines[5], `"status":"ended"`) {
		t.Fatalf("want a started line, 4 lines (2 files × 2 destinations) and an ended line, got %d:\n%s", len(lines), data)
	}
	for _, l := range lines[1:5] {
		for _, field := range []string{`"path":`, `"dest":`, `"bytes":`, `"blake3":`, `"duration_ms":`, `"status":"copied"`} {
			if !strings.Contains(l, field) {
				t.Errorf("line lacks %s: %s", field, l)
			}
		}
	}
}
