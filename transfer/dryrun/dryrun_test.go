package dryrun_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/count"
	"github.com/efssync/efssync/transfer/dryrun"
	"github.com/efssync/efssync/transfer/fsdest"
	"github.com/efssync/efssync/transfer/transfertest"
)

// tree describes everything under root that a mutation could change.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		desc := fmt.Sprintf("%v size=%d mtime=%d", fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + target
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" content=%x", b)
		}
		rel, _ := filepath.Rel(root, p)
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", root, err)
	}
	return out
}

func TestNothingChanges(t *testing.T) {
	root := t.TempDir()
	real, err := fsdest.New("efs", root, fsdest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	old := transfertest.Content(1, 5000)
	transfertest.Upload(t, real, "a/existing", old, transfertest.ChunkSize)
	transfertest.Upload(t, real, "a/doomed", old, transfertest.ChunkSize)
	// A leftover of a crashed run, which a real Cleanup would remove.
	leftover, err := real.Begin(ctx, "a/crashed", transfertest.Meta(old, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := leftover.Write(ctx, 0, old); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = leftover.Abort(ctx) })

	cnt := count.New(real)
	d := dryrun.New(cnt)
	before := tree(t, root)

	if d.Name() != "efs" {
		t.Fatalf("Name %q, want the inner name", d.Name())
	}
	data := transfertest.Content(2, 2*transfertest.ChunkSize+1)
	for _, rel := range []string{"a/existing", "new/dir/file"} {
		u, err := d.Begin(ctx, rel, transfertest.Meta(data, false), nil)
		if err != nil {
			t.Fatalf("Begin %s: %v", rel, err)
		}
		for off := 0; off < len(data); off += transfertest.ChunkSize {
			if err := u.Write(ctx, int64(off), data[off:min(off+transfertest.ChunkSize, len(data))]); err != nil {
				t.Fatalf("Write: %v", err)
			}
		}
		if u.Checkpoint() != nil {
			t.Fatal("a discarded upload has nothing to resume")
		}
		if err := u.Commit(ctx, transfertest.Meta(data, true)); err != nil {
			t.Fatalf("Commit: %v", err)
		}
		if err := u.Abort(ctx); err != nil {
			t.Fatalf("Abort: %v", err)
		}
	}
	if err := d.Remove(ctx, "a/doomed"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	m := transfer.Meta{Mode: fs.ModeDir | 0o700, UID: -1, GID: -1}
	if err := mustAs[transfer.DirMaker](t, d).Mkdir(ctx, "newdir", m); err != nil {
		t.Fatalf("Mkdir: %v", err)
	}
	if err := mustAs[transfer.Symlinker](t, d).Symlink(ctx, "a/existing", "elsewhere", m); err != nil {
		t.Fatalf("Symlink: %v", err)
	}
	if err := mustAs[transfer.Linker](t, d).Link(ctx, "a/existing", "hard"); err != nil {
		t.Fatalf("Link: %v", err)
	}
	if err := mustAs[transfer.Syncer](t, d).Sync(ctx); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	n, err := mustAs[transfer.Cleaner](t, d).Cleanup(ctx, func(string) bool { return false })
	if err != nil || n != 0 {
		t.Fatalf("Cleanup: %d, %v; want 0, nil", n, err)
	}
	// A caller that turns an ability back into a Destination gets the dry
	// run's Begin and Remove, not the inner ones.
	if err := mustAs[transfer.DirMaker](t, d).(transfer.Destination).Remove(ctx, "a/existing"); err != nil {
		t.Fatalf("Remove through an ability: %v", err)
	}

	// Reads reach the real destination.
	transfertest.CheckContent(t, d, "a/existing", old)
	transfertest.CheckMissing(t, d, "new/dir/file")
	var listed []string
	if err := mustAs[transfer.Lister](t, d).List(ctx, func(rel string, m transfer.Meta) error {
		if !m.Mode.IsDir() {
			listed = append(listed, rel)
		}
		return nil
	}); err != nil {
		t.Fatalf("List: %v", err)
	}
	slices.Sort(listed)
	if want := []string{"a/doomed", "a/existing"}; !slices.Equal(listed, want) {
		t.Fatalf("List %q, want %q", listed, want)
	}
	rc, err := mustAs[transfer.Opener](t, d).Open(ctx, "a/doomed")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	got, _ := io.ReadAll(rc)
	_ = rc.Close()
	if string(got) != string(old) {
		t.Fatal("Open read different bytes")
	}

	if after := tree(t, root); !maps.Equal(before, after) {
		t.Fatalf("the destination changed:\nbefore %v\nafter  %v", before, after)
	}
	c := cnt.Snapshot()
	if c.Mutations() != 0 || c.Abort != 0 || c.Sync != 0 {
		t.Fatalf("mutating calls reached the destination: %+v", c)
	}
	if c.Stat == 0 || c.List != 1 || c.Open != 2 {
		t.Fatalf("reads did not reach the destination: %+v", c)
	}
}

// mustAs finds an ability through d or fails the test.
func mustAs[T any](t *testing.T, d transfer.Destination) T {
	t.Helper()
	v, ok := transfer.As[T](d)
	if !ok {
		var zero T
		t.Fatalf("%T not found through the dry run", &zero)
	}
	return v
}

// bare hides every optional ability, like a destination that has none.
type bare struct{ transfer.Destination }

func TestInnerUnreachable(t *testing.T) {
	real, err := fsdest.New("efs", t.TempDir(), fsdest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := dryrun.New(real)
	if _, ok := transfer.As[*fsdest.Dest](d); ok {
		t.Fatal("the inner destination is reachable through Unwrap")
	}
	// An interface transfer does not know of must not reach the inner one.
	if _, ok := transfer.As[interface{ Root() string }](d); ok {
		t.Fatal("an unknown ability of the inner destination is reachable")
	}
	for u := transfer.Destination(d); u != nil; {
		if _, ok := u.(*fsdest.Dest); ok {
			t.Fatal("the Unwrap chain leads to the inner destination")
		}
		w, ok := u.(transfer.Unwrapper)
		if !ok {
			break
		}
		u = w.Unwrap()
	}

	// The abilities offered are those of the inner destination.
	b := dryrun.New(bare{real})
	if _, ok := transfer.As[transfer.DirMaker](b); ok {
		t.Fatal("Mkdir offered for a destination without one")
	}
	if _, ok := transfer.As[transfer.Lister](b); ok {
		t.Fatal("List offered for a destination without one")
	}
	if b.(transfer.Unwrapper).Unwrap() != nil {
		t.Fatal("Unwrap of a dry run without abilities is not nil")
	}
}

func TestCanceled(t *testing.T) {
	real, err := fsdest.New("efs", t.TempDir(), fsdest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	d := dryrun.New(real)
	if _, err := d.Begin(ctx, "x", transfer.Meta{}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Begin with a canceled context: %v", err)
	}
	if err := d.Remove(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Remove with a canceled context: %v", err)
	}
}
