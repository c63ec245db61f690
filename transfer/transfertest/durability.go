package transfertest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/efssync/efssync/transfer"
)

func testSync(t *testing.T, d transfer.Destination) {
	s := need[transfer.Syncer](t, d)
	if err := s.Sync(t.Context()); err != nil {
		t.Fatalf("Sync with nothing done: %v", err)
	}
	data := Content(23, 100)
	Upload(t, d, "sy/a/f", data, ChunkSize)
	Upload(t, d, "sy/b", data, ChunkSize)
	if err := d.Remove(t.Context(), "sy/b"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if err := s.Sync(t.Context()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	CheckContent(t, d, "sy/a/f", data)
	CheckMissing(t, d, "sy/b")
}

// testCleanup simulates a crash: an upload neither committed nor aborted
// (its Upload value is simply dropped) must be removed by Cleanup, and
// published files kept.
func testCleanup(t *testing.T, d transfer.Destination) {
	c := need[transfer.Cleaner](t, d)
	kept := Content(24, 3000)
	Upload(t, d, "c/kept", kept, ChunkSize)
	Upload(t, d, "c/overwritten", kept, ChunkSize)

	// Large enough for a multipart destination to have created an upload.
	data := Content(25, 11*ChunkSize)
	var crashed []transfer.Upload
	for _, rel := range []string{"c/crashed", "c/overwritten", "c/deep/er/crashed"} {
		u := begin(t, d, rel, data)
		writeAll(t, u, rel, data, ChunkSize)
		crashed = append(crashed, u)
	}
	remote := false
	for _, u := range crashed {
		if u.Checkpoint() != nil {
			remote = true
		}
	}
	removed, err := c.Cleanup(t.Context(), func(string) bool { return false })
	if err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	if remote && removed == 0 {
		t.Errorf("Cleanup removed nothing, but the crashed uploads had checkpoints")
	}
	t.Logf("Cleanup removed %d leftovers", removed)
	CheckContent(t, d, "c/kept", kept)
	CheckContent(t, d, "c/overwritten", kept)
	CheckMissing(t, d, "c/crashed")
	CheckMissing(t, d, "c/deep/er/crashed")
	checkList(t, d, map[string]int64{"c/kept": 3000, "c/overwritten": 3000})

	removed, err = c.Cleanup(t.Context(), func(string) bool { return false })
	if err != nil {
		t.Fatalf("second Cleanup: %v", err)
	}
	if removed != 0 {
		t.Errorf("second Cleanup removed %d, want 0: the first left something behind", removed)
	}
	// Release what the dropped uploads hold; their leftovers are gone, so
	// errors here are expected and not the contract under test.
	for _, u := range crashed {
		_ = u.Abort(context.WithoutCancel(t.Context()))
	}
	CheckContent(t, d, "c/kept", kept)
}

// testConcurrent runs 16 uploads at once, half of them into the same new
// directories, so parent creation races; run it with -race.
func testConcurrent(t *testing.T, d transfer.Destination) {
	const n = 16
	files := make([][]byte, n)
	rels := make([]string, n)
	for i := range n {
		files[i] = Content(uint64(300+i), i*37*1024+i)
		if i%2 == 0 {
			rels[i] = fmt.Sprintf("par/shared/dir/f%02d", i)
		} else {
			rels[i] = fmt.Sprintf("par/own%02d/f%02d", i, i)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = uploadErr(t.Context(), d, rels[i], files[i], 64*1024)
		})
	}
	wg.Wait()
	want := map[string]int64{}
	for i := range n {
		if errs[i] != nil {
			t.Errorf("upload %q: %v", rels[i], errs[i])
		}
		want[rels[i]] = int64(len(files[i]))
	}
	if t.Failed() {
		return
	}
	for i := range n {
		CheckContent(t, d, rels[i], files[i])
	}
	checkList(t, d, want)
}
