package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type harness struct {
	t    *testing.T
	root string
	w    *Watcher
	done chan error
}

func start(t *testing.T, opts Options) *harness {
	t.Helper()
	root := t.TempDir()
	return startAt(t, root, opts)
}

func startAt(t *testing.T, root string, opts Options) *harness {
	t.Helper()
	w, err := New(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, root: root, w: w, done: make(chan error, 1)}
	go func() { h.done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return h
}

func (h *harness) path(rel string) string { return filepath.Join(h.root, filepath.FromSlash(rel)) }

// waitFor returns the events received up to and including the first one
// matching rel and op. The 10s bound only guards against a hang.
func (h *harness) waitFor(rel string, op Op) []Event {
	h.t.Helper()
	var seen []Event
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e, ok := <-h.w.Events():
			if !ok {
				h.t.Fatalf("Events closed while waiting for %s %v; saw %v", rel, op, seen)
			}
			seen = append(seen, e)
			if e.Rel == rel && e.Op&op != 0 {
				return seen
			}
		case <-timeout:
			h.t.Fatalf("no %v for %q; saw %v", op, rel, seen)
		}
	}
}

func opsFor(evs []Event, rel string) []Op {
	var ops []Op
	for _, e := range evs {
		if e.Rel == rel {
			ops = append(ops, e.Op)
		}
	}
	return ops
}

func TestCreateWriteClose(t *testing.T) {
	h := start(t, Options{})
	f, err := os.Create(h.path("seg1.ts"))
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("data")
	f.Close()
	evs := h.waitFor("seg1.ts", CloseWrite)
	ops := opsFor(evs, "seg1.ts")
	if len(ops) < 3 || ops[0] != Create || ops[1] != Write || ops[len(ops)-1] != CloseWrite {
		t.Fatalf("ops = %v, want Create, Write, ..., CloseWrite", ops)
	}
}

func TestNewDirectoriesAreWatched(t *testing.T) {
	h := start(t, Options{})
	// The file is created before the watcher can have added watches for
	// the new directories; the scan of each new directory must report it.
	if err := os.MkdirAll(h.path("a/b/c"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.path("a/b/c/early.ts"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	evs := h.waitFor("a/b/c/early.ts", Create|CloseWrite)
	for _, d := range []string{"a", "a/b", "a/b/c"} {
		found := false
		for _, e := range evs {
			found = found || e.Rel == d && e.IsDir && e.Op == Create
		}
		if !found {
			t.Errorf("no Create for dir %s in %v", d, evs)
		}
	}
	// A later file proves the deepest directory is watched.
	if err := os.WriteFile(h.path("a/b/c/late.ts"), []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.waitFor("a/b/c/late.ts", CloseWrite)
}

func TestRenameIntoPlace(t *testing.T) {
	h := start(t, Options{})
	if err := os.WriteFile(h.path("index.m3u8.tmp"), []byte("#EXTM3U\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(h.path("index.m3u8.tmp"), h.path("index.m3u8")); err != nil {
		t.Fatal(err)
	}
	evs := h.waitFor("index.m3u8", MoveTo)
	last := evs[len(evs)-1]
	if last.From != "index.m3u8.tmp" || last.IsDir {
		t.Fatalf("MoveTo = %+v, want From index.m3u8.tmp", last)
	}
	if ops := opsFor(evs, "index.m3u8.tmp"); len(ops) == 0 || ops[len(ops)-1] != MoveFrom {
		t.Fatalf("tmp ops = %v, want ending in MoveFrom", ops)
	}
}

func TestRemove(t *testing.T) {
	h := start(t, Options{})
	os.WriteFile(h.path("old.ts"), nil, 0o644)
	h.waitFor("old.ts", CloseWrite)
	os.Remove(h.path("old.ts"))
	h.waitFor("old.ts", Remove)
	os.Mkdir(h.path("d"), 0o755)
	h.waitFor("d", Create)
	os.Remove(h.path("d"))
	if evs := h.waitFor("d", Remove); !evs[len(evs)-1].IsDir {
		t.Fatal("dir removal not flagged IsDir")
	}
}

func TestExistingTreeAndMovedDirectories(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "live", "720p"), 0o755)
	outside := t.TempDir()
	os.MkdirAll(filepath.Join(outside, "rec", "sub"), 0o755)
	os.WriteFile(filepath.Join(outside, "rec", "sub", "x.ts"), nil, 0o644)
	h := startAt(t, root, Options{})

	os.WriteFile(h.path("live/720p/s.ts"), nil, 0o644)
	h.waitFor("live/720p/s.ts", CloseWrite)

	// A directory moved in is watched and its contents reported.
	if err := os.Rename(filepath.Join(outside, "rec"), h.path("rec")); err != nil {
		t.Fatal(err)
	}
	h.waitFor("rec/sub/x.ts", Create)
	os.WriteFile(h.path("rec/sub/y.ts"), nil, 0o644)
	h.waitFor("rec/sub/y.ts", CloseWrite)

	// A directory moved out stops reporting; the next event is not stale.
	if err := os.Rename(h.path("live"), filepath.Join(outside, "live")); err != nil {
		t.Fatal(err)
	}
	h.waitFor("live", MoveFrom)
	os.WriteFile(filepath.Join(outside, "live", "720p", "ghost.ts"), nil, 0o644)
	os.WriteFile(h.path("marker"), nil, 0o644)
	evs := h.waitFor("marker", CloseWrite)
	for _, e := range evs {
		if strings.Contains(e.Rel, "ghost") {
			t.Fatalf("event from a directory moved out of the tree: %+v", e)
		}
	}
}

func TestIgnore(t *testing.T) {
	h := start(t, Options{Ignore: func(rel string, isDir bool) bool {
		return strings.HasPrefix(rel, "tmp") || strings.HasSuffix(rel, ".part")
	}})
	os.Mkdir(h.path("tmp"), 0o755)
	os.WriteFile(h.path("tmp/a.ts"), nil, 0o644)
	os.WriteFile(h.path("b.part"), nil, 0o644)
	os.WriteFile(h.path("marker"), nil, 0o644)
	evs := h.waitFor("marker", CloseWrite)
	for _, e := range evs {
		if e.Rel != "marker" {
			t.Fatalf("ignored path reported: %+v", e)
		}
	}
	// Nothing under the ignored directory is watched: a later file there
	// is still not reported.
	os.WriteFile(h.path("tmp/late.ts"), nil, 0o644)
	os.WriteFile(h.path("marker2"), nil, 0o644)
	for _, e := range h.waitFor("marker2", CloseWrite) {
		if e.Rel != "marker2" {
			t.Fatalf("ignored path reported: %+v", e)
		}
	}
}

func TestRootRemoved(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	os.Mkdir(root, 0o755)
	w, err := New(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background()) }()
	os.Remove(root)
	var last Event
	for e := range w.Events() {
		last = e
	}
	if last.Op != Remove || last.Rel != "" {
		t.Errorf("last event = %+v, want root Remove", last)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrRootRemoved) {
			t.Fatalf("Run = %v, want ErrRootRemoved", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
}

func TestCancelClosesEvents(t *testing.T) {
	w, err := New(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if _, ok := <-w.Events(); ok {
		t.Fatal("Events not closed")
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(filepath.Join(t.TempDir(), "missing"), Options{}); err == nil {
		t.Fatal("New on a missing root succeeded")
	}
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := New(f, Options{}); err == nil {
		t.Fatal("New on a file succeeded")
	}
}

func TestKernelOverflowRewatches(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/fs/inotify/max_queued_events")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot read the inotify queue limit: %v", err)
		}
		t.Skipf("cannot read the inotify queue limit: %v", err)
	}
	var limit int
	if _, err := fmt.Sscan(string(b), &limit); err != nil || limit > 100000 {
		t.Skipf("inotify queue limit %q too large to overflow in a test", b)
	}
	root := t.TempDir()
	w, err := New(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Run is not started yet, so nothing drains the kernel queue.
	for i := range limit + 10 {
		f, err := os.Create(filepath.Join(root, fmt.Sprint("f", i%64)))
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if err := os.Mkdir(filepath.Join(root, "lost"), 0o755); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, root: root, w: w, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { h.done <- w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-h.done })

	h.waitFor("", Overflow)
	os.WriteFile(filepath.Join(root, "lost", "x.ts"), nil, 0o644)
	h.waitFor("lost/x.ts", CloseWrite)
}
