package manifest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Snapshots taken while another opener holds the manifest and commits
// batch after batch are always consistent: every batch rewrites all keys
// with the same size, so a snapshot mixing two commits would show two sizes.
func TestSnapshotIsConsistentWhileAnAgentCommits(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "m.db")
	db, err := Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const keys = 200
	commit := func(gen int64) error {
		b := db.NewBatch()
		for k := range keys {
			r := sampleRecord()
			r.Size = gen
			b.Put("j", fmt.Sprintf("d%02d/f%04d", k%17, k), r)
		}
		return b.Commit()
	}
	if err := commit(0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		for gen := int64(1); ctx.Err() == nil; gen++ {
			if err := commit(gen); err != nil {
				t.Error(err)
				return
			}
		}
	})
	check := func(i int, dst string) {
		snap, err := Open(dst)
		if err != nil {
			t.Fatalf("snapshot %d does not open: %v", i, err)
		}
		defer snap.Close()
		sizes := map[int64]int{}
		n := 0
		err = snap.View("j", func(rd *Reader) error {
			for k := range keys {
				r, ok, err := rd.Get(fmt.Sprintf("d%02d/f%04d", k%17, k))
				if err != nil {
					return err
				}
				if ok {
					sizes[r.Size]++
					n++
				}
			}
			return nil
		})
		if err != nil || n != keys || len(sizes) != 1 {
			t.Fatalf("snapshot %d: %d of %d keys, sizes %v, err %v", i, n, keys, sizes, err)
		}
	}
	// While commits land back to back, a snapshot may give up (ErrBusy),
	// but one that succeeds is consistent.
	taken := 0
	for i := range 4 {
		dst := filepath.Join(dir, fmt.Sprintf("snap-%d.db", i))
		err := Snapshot(t.Context(), src, dst)
		if errors.Is(err, ErrBusy) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		taken++
		check(i, dst)
	}
	cancel()
	wg.Wait()
	t.Logf("%d of 4 snapshots taken during back-to-back commits", taken)
	// The agent still holds the manifest but is between commits: the
	// snapshot succeeds at once.
	dst := filepath.Join(dir, "idle.db")
	if err := Snapshot(t.Context(), src, dst); err != nil {
		t.Fatalf("snapshot of a held, idle manifest: %v", err)
	}
	check(-1, dst)
}

func TestSnapshotOfMissingOrForeignFile(t *testing.T) {
	dir := t.TempDir()
	if err := Snapshot(t.Context(), filepath.Join(dir, "none.db"), filepath.Join(dir, "s.db")); err == nil {
		t.Error("snapshot of a missing manifest succeeded")
	}
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, make([]byte, 64), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Snapshot(t.Context(), other, filepath.Join(dir, "s2.db")); !errors.Is(err, ErrCorrupt) {
		t.Errorf("snapshot of a non-manifest: %v, want ErrCorrupt", err)
	}
}
