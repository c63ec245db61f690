package transfertest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/efssync/efssync/transfer"
)

// uploadErr is Upload for goroutines, which must not call t.Fatal.
func uploadErr(ctx context.Context, d transfer.Destination, rel string, data []byte, chunk int) error {
	u, err := d.Begin(ctx, rel, Meta(data, false), nil)
	if err != nil {
		return fmt.Errorf("Begin: %w", err)
	}
	for off := 0; off < len(data); off += chunk {
		end := min(off+chunk, len(data))
		if err := u.Write(ctx, int64(off), data[off:end]); err != nil {
			_ = u.Abort(ctx)
			return fmt.Errorf("Write at %d: %w", off, err)
		}
	}
	if err := u.Commit(ctx, Meta(data, true)); err != nil {
		_ = u.Abort(ctx)
		return fmt.Errorf("Commit: %w", err)
	}
	return nil
}

// testResume drops an upload after most of it was written, and continues it
// with a new Begin from its checkpoint, writing the whole file again from
// offset 0 as the agent does after a crash.
func testResume(t *testing.T, d transfer.Destination) {
	data := Content(400, 13*ChunkSize+5)
	const rel = "r/resumed.bin"
	cp := dropUpload(t, d, rel, data, 12*ChunkSize)
	CheckMissing(t, d, rel)
	resumeUpload(t, d, rel, data, cp)
	checkList(t, d, map[string]int64{rel: int64(len(data))})
}

// testResumeCleanupKeep checks that Cleanup spares uploads its keep function
// names, so a checkpoint stays usable.
func testResumeCleanupKeep(t *testing.T, d transfer.Destination) {
	c := need[transfer.Cleaner](t, d)
	data := Content(401, 11*ChunkSize+1)
	const rel = "r/kept-upload.bin"
	cp := dropUpload(t, d, rel, data, 11*ChunkSize)
	if _, err := c.Cleanup(t.Context(), func(id string) bool { return id == cp.UploadID }); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	resumeUpload(t, d, rel, data, cp)
}

// dropUpload begins an upload of data to rel, writes its first n bytes and
// drops it, as a crash would, returning a copy of its checkpoint. It skips
// the test when the destination's uploads are not resumable.
func dropUpload(t *testing.T, d transfer.Destination, rel string, data []byte, n int) *transfer.Checkpoint {
	u := begin(t, d, rel, data)
	writeAll(t, u, rel, data[:n], ChunkSize)
	cp := u.Checkpoint()
	if cp == nil {
		t.Skip("uploads return no checkpoint: not resumable")
	}
	// The checkpoint is persisted as JSON in the manifest; what comes back
	// is a copy, not the destination's own value.
	return cloneCheckpoint(cp)
}

// resumeUpload continues the upload of data to rel from cp, writing the
// whole file again from offset 0, commits it and checks the result.
func resumeUpload(t *testing.T, d transfer.Destination, rel string, data []byte, cp *transfer.Checkpoint) {
	u, err := d.Begin(t.Context(), rel, Meta(data, false), cp)
	if err != nil {
		t.Fatalf("Begin with checkpoint: %v", err)
	}
	writeAll(t, u, rel, data, ChunkSize)
	if err := u.Commit(t.Context(), Meta(data, true)); err != nil {
		t.Fatalf("Commit resumed upload: %v", err)
	}
	CheckContent(t, d, rel, data)
}

// cloneCheckpoint copies cp deeply, as a round trip through the manifest
// would.
func cloneCheckpoint(cp *transfer.Checkpoint) *transfer.Checkpoint {
	c := *cp
	c.Parts = slices.Clone(cp.Parts)
	return &c
}
