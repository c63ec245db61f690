package count_test

import (
	"io"
	"sync"
	"testing"

	"github.com/efssync/efssync/internal/desttest"
	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/count"
	"github.com/efssync/efssync/transfer/fsdest"
	"github.com/efssync/efssync/transfer/transfertest"
)

func TestConformance(t *testing.T) {
	transfertest.RunTests(t, func(t *testing.T) transfer.Destination { return count.New(desttest.NewFS(t)) })
}

func TestCounts(t *testing.T) {
	fs := desttest.NewFS(t)
	c := count.New(fs)
	ctx := t.Context()
	if c.Name() != "fs" {
		t.Fatalf("Name %q", c.Name())
	}
	data := transfertest.Content(1, 2*transfertest.ChunkSize+3)
	transfertest.Upload(t, c, "a/f", data, transfertest.ChunkSize)
	u, err := c.Begin(ctx, "a/g", transfertest.Meta(nil, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	if u.Checkpoint() != nil {
		t.Fatal("fs uploads have no checkpoint")
	}
	if err := u.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stat(ctx, "a/f"); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove(ctx, "missing"); err != nil {
		t.Fatal(err)
	}
	dm, _ := transfer.As[transfer.DirMaker](c)
	if err := dm.Mkdir(ctx, "d", transfer.Meta{Mode: 0o755, UID: -1, GID: -1}); err != nil {
		t.Fatal(err)
	}
	sl, _ := transfer.As[transfer.Symlinker](c)
	if err := sl.Symlink(ctx, "s", "a/f", transfer.Meta{UID: -1, GID: -1}); err != nil {
		t.Fatal(err)
	}
	ln, _ := transfer.As[transfer.Linker](c)
	if err := ln.Link(ctx, "a/f", "h"); err != nil {
		t.Fatal(err)
	}
	ls, _ := transfer.As[transfer.Lister](c)
	if err := ls.List(ctx, func(string, transfer.Meta) error { return nil }); err != nil {
		t.Fatal(err)
	}
	op, _ := transfer.As[transfer.Opener](c)
	rc, err := op.Open(ctx, "a/f")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, rc)
	_ = rc.Close()
	sy, _ := transfer.As[transfer.Syncer](c)
	if err := sy.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	cl, _ := transfer.As[transfer.Cleaner](c)
	if _, err := cl.Cleanup(ctx, func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}

	got := c.Snapshot()
	want := count.Counts{
		Begin: 2, Writes: 3, WriteBytes: int64(len(data)), Commit: 1, Abort: 1,
		Stat: 1, Remove: 1, Mkdir: 1, Symlink: 1, Link: 1, List: 1, Open: 1, Sync: 1, Cleanup: 1,
	}
	if got != want {
		t.Fatalf("counts\n got %+v\nwant %+v", got, want)
	}
	if m := got.Mutations(); m != 2+3+1+1+1+1+1+1 {
		t.Fatalf("Mutations %d", m)
	}
	if d := c.Snapshot().Sub(got); d != (count.Counts{}) {
		t.Fatalf("Sub of equal snapshots %+v, want zero", d)
	}
	if got, ok := transfer.As[*fsdest.Dest](c); !ok || got != fs {
		t.Fatal("inner destination not reachable through Unwrap")
	}
}

// bare hides every optional ability, like a destination that has none.
type bare struct{ transfer.Destination }

func TestAbsentAbilitiesStayAbsent(t *testing.T) {
	c := count.New(bare{desttest.NewFS(t)})
	if _, ok := transfer.As[transfer.DirMaker](c); ok {
		t.Fatal("DirMaker found through a destination that has none")
	}
	if _, ok := transfer.As[transfer.Lister](c); ok {
		t.Fatal("Lister found through a destination that has none")
	}
}

func TestConcurrentCounts(t *testing.T) {
	c := count.New(desttest.NewFS(t))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_, _ = c.Stat(t.Context(), "x")
			}
		})
	}
	wg.Wait()
	if n := c.Snapshot().Stat; n != 800 {
		t.Fatalf("Stat count %d, want 800", n)
	}
}
