package powertest

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"

	"github.com/efssync/efssync/agent"
	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/internal/faultfs"
	"github.com/efssync/efssync/internal/treetest"
	"github.com/efssync/efssync/transfer/fsdest"
)

// TestMain turns the garbage collector off while mounts are served. The
// FUSE server runs in this process, and the manifest (bbolt) maps its file
// on the mount: a thread faulting on that mapping waits for the server,
// and a stop-the-world phase of the collector waits for that thread, so
// the two can deadlock. The tests collect garbage themselves between cut
// points, when nothing is mounted.
func TestMain(m *testing.M) {
	debug.SetGCPercent(-1)
	os.Exit(m.Run())
}

// memDir is a fresh directory in memory when the machine has /dev/shm.
func memDir(t *testing.T) string {
	t.Helper()
	base := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		base = "/dev/shm"
	}
	d, err := os.MkdirTemp(base, "powertest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// world is one cut point's setup: a faultfs in power-loss mode holding
// state/ and dst/, and the source beside it.
type world struct {
	log *slog.Logger // errors of the runs, shown when a test fails
	f   *faultfs.FS
	mnt string
	src string
}

func (w *world) config(t *testing.T, extra func(*config.Job)) *config.Config {
	t.Helper()
	cfg := &config.Config{StateDir: filepath.Join(w.mnt, "state"), Jobs: []config.Job{{
		Name: "job", Source: w.src, Destinations: []config.Destination{{Type: "fs", Path: filepath.Join(w.mnt, "dst")}},
	}}}
	if extra != nil {
		extra(&cfg.Jobs[0])
	}
	cfg.SetDefaults(nil)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// run runs the job once; when the power goes off it is cancelled at
// once, so retries of operations that can only fail are not waited out.
func (w *world) run(t *testing.T, cfg *config.Config) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-w.f.PoweredOff():
			cancel()
		case <-ctx.Done():
		}
	}()
	a, err := agent.New(cfg, agent.Options{Log: w.log})
	if err != nil {
		return err
	}
	sum, err := a.Run(ctx)
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	if err == nil && !sum.OK() {
		err = fmt.Errorf("run not in sync: %+v", *sum)
	}
	return err
}

// setUp copies template (a backing tree: state/ and dst/) to a fresh
// backing directory and mounts it.
func setUp(t *testing.T, template, src string) *world {
	t.Helper()
	backing := memDir(t)
	if out, err := exec.Command("cp", "-a", template+"/.", backing).CombinedOutput(); err != nil {
		t.Fatalf("copy template: %v\n%s", err, out)
	}
	f, mnt := faultfs.Mount(t, backing, faultfs.Options{PowerLoss: true, CacheTimeout: -1, CutErrno: syscall.EROFS})
	log := slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelError}))
	return &world{log: log, f: f, mnt: mnt, src: src}
}

// tlog writes log lines to the test log.
type tlog struct{ t *testing.T }

func (l tlog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// versions maps each relative path to every content the source had.
type versions map[string][][]byte

func (v versions) add(t *testing.T, src string) {
	t.Helper()
	for rel, e := range treetest.Snapshot(t, src, nil) {
		if e.Mode.IsRegular() {
			v[rel] = append(v[rel], e.Content)
		}
	}
}

// checkWhole fails unless every file under a final name at dst is whole
// and equal to a version the source had.
func checkWhole(t *testing.T, dst string, v versions, cut int64) {
	t.Helper()
	for rel, e := range treetest.Snapshot(t, dst, fsdest.IsTempName) {
		if !e.Mode.IsRegular() {
			continue
		}
		ok := false
		for _, c := range v[rel] {
			ok = ok || bytes.Equal(c, e.Content)
		}
		if !ok {
			t.Errorf("cut after %d changes: %s holds %d bytes that are no version of the source", cut, rel, len(e.Content))
		}
	}
}

// cutEverywhere runs the job on a copy of template once without a cut to
// count its state-changing operations, then once per cut point: cut,
// check what survived, run again with the power on, and check that the
// destination converged to the source. It returns the cut points tried.
func cutEverywhere(t *testing.T, template, src string, v versions, extra func(*config.Job)) int {
	return cutEvery(t, template, src, v, extra, 1)
}

// cutEvery is cutEverywhere at every step-th operation.
func cutEvery(t *testing.T, template, src string, v versions, extra func(*config.Job), step int64) int {
	w := setUp(t, template, src)
	if err := w.run(t, w.config(t, extra)); err != nil {
		t.Fatalf("uncut run: %v", err)
	}
	total := w.f.Changes()
	if err := w.f.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("an uncut run makes %d state-changing operations", total)
	cuts := 0
	for n := int64(0); n < total; n += step {
		w := setUp(t, template, src)
		w.f.CutAfter(n)
		_ = w.run(t, w.config(t, extra)) // fails: the power goes off
		if err := w.f.PowerCut(); err != nil {
			t.Fatalf("cut after %d: %v", n, err)
		}
		w.f = faultfs.Remount(t, w.f)
		dst := filepath.Join(w.mnt, "dst")
		checkWhole(t, dst, v, n)
		if err := w.run(t, w.config(t, extra)); err != nil {
			t.Errorf("cut after %d: the next run: %v", n, err)
		}
		treetest.Equal(t, src, dst)
		if err := w.f.Close(); err != nil {
			t.Fatal(err)
		}
		runtime.GC() // nothing is mounted now (see TestMain)
		cuts++
		if t.Failed() {
			t.Fatalf("first failure at the cut after %d of %d changes", n, total)
		}
	}
	return cuts
}

// emptyTemplate is a backing tree with empty state/ and dst/.
func emptyTemplate(t *testing.T) string {
	t.Helper()
	tmpl := memDir(t)
	for _, d := range []string{"state", "dst"} {
		if err := os.Mkdir(filepath.Join(tmpl, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return tmpl
}

// sourceV1 writes the first version of the source tree.
func sourceV1(t *testing.T, src string) {
	t.Helper()
	treetest.Random(t, src, 11, 6, 40<<10)
	treetest.Write(t, src, map[string]string{"top.txt": "top", "d00/keep.txt": "keep", "gone/old.txt": "old"})
	if err := os.Symlink("top.txt", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
}

// TestPowerCutDuringFirstSync cuts the power at every state-changing
// operation of a first sync.
func TestPowerCutDuringFirstSync(t *testing.T) {
	src := memDir(t)
	sourceV1(t, src)
	v := versions{}
	v.add(t, src)
	n := cutEverywhere(t, emptyTemplate(t), src, v, nil)
	t.Logf("%d cut points", n)
}

// TestPowerCutDuringUpdateWithMirrorDelete cuts the power at every
// state-changing operation of a run that rewrites, adds and deletes files
// (delete: mirror) after a complete first sync.
func TestPowerCutDuringUpdateWithMirrorDelete(t *testing.T) {
	src := memDir(t)
	sourceV1(t, src)
	v := versions{}
	v.add(t, src)
	mirror := func(j *config.Job) { j.Delete, j.MaxDelete = "mirror", "100%" }
	// The template: the backing tree after a complete first sync.
	tmpl := emptyTemplate(t)
	w := setUp(t, tmpl, src)
	if err := w.run(t, w.config(t, mirror)); err != nil {
		t.Fatal(err)
	}
	if err := w.f.Close(); err != nil {
		t.Fatal(err)
	}
	tmpl = w.f.Backing()
	// Version 2: rewritten, added and deleted files.
	treetest.Write(t, src, map[string]string{"top.txt": "top, rewritten", "d00/keep.txt": "keep", "new/a.txt": "new a", "new/b.txt": strings.Repeat("b", 70000)})
	if err := os.RemoveAll(filepath.Join(src, "gone")); err != nil {
		t.Fatal(err)
	}
	_ = filepath.WalkDir(src, func(p string, de fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, "00000.bin") {
			err = os.Remove(p)
		}
		return err
	})
	v.add(t, src)
	n := cutEverywhere(t, tmpl, src, v, mirror)
	t.Logf("%d cut points", n)
}

// TestPowerCutManyFilesInOneDirectory: with many files in flight in one
// directory, its fsync (for files already renamed) also makes the entries
// of temp files still being written durable; after a cut the next run
// must clean them up.
func TestPowerCutManyFilesInOneDirectory(t *testing.T) {
	src := memDir(t)
	files := map[string]string{}
	for i := range 40 {
		files[fmt.Sprintf("seg%03d.ts", i)] = strings.Repeat(fmt.Sprint(i), 3000+i*500)
	}
	treetest.Write(t, src, files)
	v := versions{}
	v.add(t, src)
	n := cutEvery(t, emptyTemplate(t), src, v, nil, 3)
	t.Logf("%d cut points", n)
}
