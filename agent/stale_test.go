package agent

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/efssync/efssync/agent/report"

	"github.com/efssync/efssync/agent/send"
	"github.com/efssync/efssync/internal/treetest"
)

// staleFixture starts a job run over src with one worker, so the walk has
// stat'ed a directory's every entry before the first of them is copied.
func staleFixture(t *testing.T, files map[string]string) (*fixture, *jobRun, *report.Counters) {
	t.Helper()
	f := newFixture(t, 1)
	f.extra = "    concurrency: 1\n"
	treetest.Write(t, f.src, files)
	a, err := New(f.config(), Options{})
	must(t, err)
	t.Cleanup(func() { a.Close() })
	c := &report.Counters{}
	rep, _ := report.Open("")
	j, err := a.newJobRun(context.Background(), a.cfg.Jobs[0], rep, c)
	must(t, err)
	return f, j, c
}

// afterReading runs fn once, when the copy of rel has been read: after the
// walk has stat'ed every entry of the directory, before the next copy.
func afterReading(j *jobRun, rel string, fn func()) {
	var once sync.Once
	j.a.opts.Sources = readHook(func(r string) {
		if r == rel {
			once.Do(fn)
		}
	})
}

// readHook is a SourceHook that runs its func with the path of each source
// after the sender read it and before the source is confirmed: the window
// in which a writer can spoil a copy.
type readHook func(rel string)

func (h readHook) Source(rel string, src send.Source) send.Source {
	return hookedSource{Source: src, before: func() { h(rel) }}
}

type hookedSource struct {
	send.Source
	before func()
}

func (s hookedSource) Confirm(ctx context.Context, n int64, sum [32]byte) error {
	s.before()
	return s.Source.Confirm(ctx, n, sum)
}

// A file rewritten after the walk but before its copy is copied in the
// same run with its new content: the walk's stat was only stale.
func TestFileChangedAfterWalkIsCopiedInTheSameRun(t *testing.T) {
	f, j, c := staleFixture(t, map[string]string{"a": "a", "b": "old"})
	afterReading(j, "a", func() { must(t, os.WriteFile(filepath.Join(f.src, "b"), []byte("new, longer"), 0o644)) })
	must(t, j.syncOnce(context.Background()))
	if n := c.Changed.Load(); n != 0 {
		t.Fatalf("changed = %d, want 0", n)
	}
	if n := c.Opened.Load(); n != 3 {
		t.Fatalf("opened %d files, want 3 (a, then b with the walk's stat and again with its own)", n)
	}
	got, err := os.ReadFile(filepath.Join(f.dests[0], "b"))
	must(t, err)
	if string(got) != "new, longer" {
		t.Fatalf("b = %q, want the content after the rewrite", got)
	}
	treetest.Equal(t, f.src, f.dests[0])
}

// A FIFO put in place of a walked file neither blocks the open nor gets
// published; the file is reported as changed.
func TestFIFOInPlaceOfWalkedFileDoesNotBlock(t *testing.T) {
	f, j, c := staleFixture(t, map[string]string{"a": "a", "b": "regular"})
	afterReading(j, "a", func() {
		p := filepath.Join(f.src, "b")
		must(t, os.Remove(p))
		must(t, syscall.Mkfifo(p, 0o644))
	})
	must(t, j.syncOnce(context.Background()))
	if n := c.Changed.Load(); n != 1 {
		t.Fatalf("changed = %d, want 1", n)
	}
	if _, err := os.Lstat(filepath.Join(f.dests[0], "b")); !os.IsNotExist(err) {
		t.Fatalf("b was published: %v", err)
	}
	if left := treetest.Leftovers(t, f.dests[0]); len(left) > 0 {
		t.Fatalf("temp files left: %v", left)
	}
}

// A symlink put in place of a walked file is not followed: the file it
// points to, outside the source root, must not be copied under the walked
// file's name (a user who can write in the source could otherwise read
// any file the agent can). The path is reported as changed.
func TestSymlinkInPlaceOfWalkedFileIsNotFollowed(t *testing.T) {
	f, j, c := staleFixture(t, map[string]string{"a": "a", "b": "regular"})
	secret := filepath.Join(t.TempDir(), "secret")
	must(t, os.WriteFile(secret, []byte("secret content"), 0o600))
	afterReading(j, "a", func() {
		p := filepath.Join(f.src, "b")
		must(t, os.Remove(p))
		must(t, os.Symlink(secret, p))
	})
	must(t, j.syncOnce(context.Background()))
	if got, err := os.ReadFile(filepath.Join(f.dests[0], "b")); err == nil {
		t.Fatalf("b was published with %q: the symlink was followed", got)
	}
	if n := c.Changed.Load(); n != 1 {
		t.Fatalf("changed = %d, want 1", n)
	}
	if left := treetest.Leftovers(t, f.dests[0]); len(left) > 0 {
		t.Fatalf("temp files left: %v", left)
	}
}

// A source root given through a symlink (/srv/media -> /mnt/data/media) is
// read through its target: only symlinks below the root are refused.
func TestSourceRootThroughSymlink(t *testing.T) {
	f := newFixture(t, 1)
	treetest.Write(t, f.src, map[string]string{"a": "a", "d/b": "b"})
	link := filepath.Join(f.dir, "link")
	must(t, os.Symlink(f.src, link))
	real := f.src
	f.src = link
	sum := f.run(Options{})
	if !sum.OK() || sum.Copied != 2 {
		t.Fatalf("run through a symlinked root: %+v", sum)
	}
	treetest.Equal(t, real, f.dests[0])
}
