package fsdest_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/fsdest"
	"github.com/efssync/efssync/transfer/transfertest"
)

func TestConformance(t *testing.T) {
	transfertest.RunTests(t, func(t *testing.T) transfer.Destination {
		d, err := fsdest.New("local", t.TempDir(), fsdest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}

// put publishes one small file through d.
func put(t *testing.T, d *fsdest.Dest, rel, content string) {
	t.Helper()
	publishMeta(t, d, rel, content, transfer.Meta{Mode: 0o644, ModTime: time.Unix(1_700_000_000, 0), UID: -1, GID: -1})
}

// openDirs counts this process's descriptors open on directories under root.
func openDirs(t *testing.T, root string) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && strings.HasPrefix(target, root) {
			n++
		}
	}
	return n
}

// A directory replaced behind the destination's back (removed and made
// again by someone else) still receives the next file: the descriptor
// kept for it is not written through blindly.
func TestDirectoryReplacedBetweenFiles(t *testing.T) {
	root := t.TempDir()
	d, err := fsdest.New("local", root, fsdest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, d, "a/one", "1")
	if err := os.RemoveAll(filepath.Join(root, "a")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	put(t, d, "a/two", "2")
	if b, err := os.ReadFile(filepath.Join(root, "a", "two")); err != nil || string(b) != "2" {
		t.Fatalf("a/two after the directory was replaced: %q, %v", b, err)
	}
}

// Directory descriptors stay bounded while files go into many directories,
// and none is left open after Sync, so the mount can be unmounted.
func TestDirectoryDescriptorsAreBoundedAndClosedBySync(t *testing.T) {
	root := t.TempDir()
	d, err := fsdest.New("local", root, fsdest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	most := 0
	for i := range 100 {
		put(t, d, fmt.Sprintf("d%03d/f", i), "x")
		most = max(most, openDirs(t, root))
	}
	if most > 20 {
		t.Errorf("%d directory descriptors open at once, want at most about 16", most)
	}
	if err := d.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := openDirs(t, root); n != 0 {
		t.Errorf("%d directory descriptors still open after Sync", n)
	}
}

// Removing a directory forgets its descriptor and those below it: a
// directory made again at the same path gets the next files.
func TestRemovedDirectoryIsForgotten(t *testing.T) {
	root := t.TempDir()
	d, err := fsdest.New("local", root, fsdest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	put(t, d, "a/b/one", "1")
	for _, rel := range []string{"a/b/one", "a/b"} {
		if err := d.Remove(ctx, rel); err != nil {
			t.Fatal(err)
		}
	}
	put(t, d, "a/b/two", "2")
	if b, err := os.ReadFile(filepath.Join(root, "a", "b", "two")); err != nil || string(b) != "2" {
		t.Fatalf("a/b/two: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(root, "a", "b", "one")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a/b/one came back: %v", err)
	}
}

// Reads outside a batch (List, Stat, Open) leave no descriptor open on
// the destination, so the mount can be unmounted after a run that only
// listed it (a mirror delete with nothing to delete).
func TestReadsLeaveNothingOpen(t *testing.T) {
	root := t.TempDir()
	d, err := fsdest.New("local", root, fsdest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, d, "a/b/f", "x")
	if err := d.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := d.List(ctx, func(string, transfer.Meta) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Stat(ctx, "a/b/f"); err != nil {
		t.Fatal(err)
	}
	r, err := d.Open(ctx, "a/b/f")
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if n := openDirs(t, root); n != 0 {
		t.Errorf("%d descriptors left open on the destination after List, Stat and Open", n)
	}
}

// TestListSkipsDirectoryRemovedMeanwhile: a directory another agent removes
// while List walks (a shard's mirror delete on a shared destination) is
// skipped, not an error that stops this agent's own delete.
func TestListSkipsDirectoryRemovedMeanwhile(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{"a/x", "b/y"} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte("1"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := fsdest.New("local", root, fsdest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	err = d.List(t.Context(), func(rel string, _ transfer.Meta) error {
		seen = append(seen, rel)
		if rel == "a" {
			// Gone after the walk saw it, before it reads it.
			return os.RemoveAll(filepath.Join(root, "a"))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if want := []string{"a", "b", "b/y"}; !slices.Equal(seen, want) {
		t.Errorf("listed %v, want %v", seen, want)
	}
}

// TestLinkOverSameFileLeavesNoTemp: linking rel to existing when rel already
// is a name of the same file (an adopted replica, a re-sharded run, a link
// made by hand) changes nothing and leaves no temp name behind; rename(2)
// of one name of a file over another succeeds and does nothing.
func TestLinkOverSameFileLeavesNoTemp(t *testing.T) {
	root := t.TempDir()
	d, err := fsdest.New("local", root, fsdest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	put(t, d, "a", "x")
	if err := os.Link(filepath.Join(root, "a"), filepath.Join(root, "by-hand")); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"b", "b", "by-hand"} {
		if err := d.Link(ctx, "a", rel); err != nil {
			t.Fatalf("Link(a, %s): %v", rel, err)
		}
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"a", "b", "by-hand"}; !slices.Equal(names, want) {
		t.Errorf("destination holds %v, want %v", names, want)
	}
}
