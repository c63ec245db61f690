package transfertest

import (
	"bytes"
	"testing"
	"time"

	"github.com/efssync/efssync/transfer"
)

func testName(t *testing.T, d transfer.Destination) {
	if d.Name() == "" {
		t.Fatal("Name() is empty; reports and the manifest need it")
	}
}

func testStatMissing(t *testing.T, d transfer.Destination) {
	CheckMissing(t, d, "missing.txt")
	CheckMissing(t, d, "no/such/dir/file.txt")
}

func testEmptyFile(t *testing.T, d transfer.Destination) {
	// No Write at all: a zero-byte source is Begin then Commit.
	u := begin(t, d, "empty", nil)
	if err := u.Commit(t.Context(), Meta(nil, true)); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	CheckContent(t, d, "empty", nil)
}

func testSmallFile(t *testing.T, d transfer.Destination) {
	data := Content(1, 1234)
	Upload(t, d, "small.bin", data, ChunkSize)
	CheckContent(t, d, "small.bin", data)
}

func testMultiChunk(t *testing.T, d transfer.Destination) {
	// Over 10 MiB so a multipart destination with 5 MiB parts uses several.
	data := Content(2, 11*ChunkSize+7)
	Upload(t, d, "multi.bin", data, ChunkSize)
	CheckContent(t, d, "multi.bin", data)
}

func testExactChunkMultiple(t *testing.T, d transfer.Destination) {
	data := Content(3, 10*ChunkSize)
	Upload(t, d, "exact.bin", data, ChunkSize)
	CheckContent(t, d, "exact.bin", data)
}

// testWriteIdempotent checks the contract the retry decorator relies on: a
// Write that is repeated at the same offset (the first attempt may have been
// partly applied), or that overlaps what the upload already holds, leaves
// the bytes as if it had been written once.
func testWriteIdempotent(t *testing.T, d transfer.Destination) {
	data := Content(4, 3*ChunkSize+100)
	u := begin(t, d, "idem.bin", data)
	ctx := t.Context()
	steps := []struct{ off, end int }{
		{0, ChunkSize},
		{0, ChunkSize},                   // the same chunk again
		{ChunkSize, 2 * ChunkSize},       // next
		{ChunkSize + 10, 2 * ChunkSize},  // wholly inside what is held
		{ChunkSize + 500, 3 * ChunkSize}, // overlaps the end: a partly applied write retried
		{3 * ChunkSize, len(data)},
		{3 * ChunkSize, len(data)},
	}
	for _, s := range steps {
		if err := u.Write(ctx, int64(s.off), data[s.off:s.end]); err != nil {
			t.Fatalf("Write at %d (%d bytes): %v", s.off, s.end-s.off, err)
		}
	}
	if err := u.Commit(ctx, Meta(data, true)); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	CheckContent(t, d, "idem.bin", data)
}

func testNotVisibleBeforeCommit(t *testing.T, d transfer.Destination) {
	data := Content(5, 2*ChunkSize+3)
	u := begin(t, d, "dir/pending.bin", data)
	CheckMissing(t, d, "dir/pending.bin")
	writeAll(t, u, "dir/pending.bin", data, ChunkSize)
	CheckMissing(t, d, "dir/pending.bin")
	// A Lister must not show in-flight uploads either: the agent would take
	// them for extraneous files to delete, or for published ones.
	checkList(t, d, map[string]int64{})
	if err := u.Commit(t.Context(), Meta(data, true)); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	CheckContent(t, d, "dir/pending.bin", data)
	checkList(t, d, map[string]int64{"dir/pending.bin": int64(len(data))})
}

func testAbort(t *testing.T, d transfer.Destination) {
	data := Content(6, 2*ChunkSize+3)
	u := begin(t, d, "a/aborted.bin", data)
	writeAll(t, u, "a/aborted.bin", data, ChunkSize)
	if err := u.Abort(t.Context()); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	CheckMissing(t, d, "a/aborted.bin")
	checkList(t, d, map[string]int64{})

	// Aborting before any Write.
	u = begin(t, d, "a/aborted2.bin", data)
	if err := u.Abort(t.Context()); err != nil {
		t.Fatalf("Abort without Write: %v", err)
	}
	CheckMissing(t, d, "a/aborted2.bin")
	checkList(t, d, map[string]int64{})
}

func testAbortKeepsPrevious(t *testing.T, d transfer.Destination) {
	old := Content(7, 5000)
	Upload(t, d, "keep.bin", old, ChunkSize)
	data := Content(8, ChunkSize+1)
	u := begin(t, d, "keep.bin", data)
	writeAll(t, u, "keep.bin", data, ChunkSize)
	if err := u.Abort(t.Context()); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	CheckContent(t, d, "keep.bin", old)
}

// testOverwrite checks that Commit replaces a published file as a whole:
// until Commit readers see the old version, afterwards exactly the new one,
// also when the new one is shorter.
func testOverwrite(t *testing.T, d transfer.Destination) {
	versions := [][]byte{Content(9, 3000), Content(10, 1000), Content(11, 2*ChunkSize+9), Content(12, 0)}
	Upload(t, d, "over/file", versions[0], ChunkSize)
	for i, data := range versions[1:] {
		prev := versions[i]
		u := begin(t, d, "over/file", data)
		writeAll(t, u, "over/file", data, ChunkSize)
		CheckContent(t, d, "over/file", prev)
		if err := u.Commit(t.Context(), Meta(data, true)); err != nil {
			t.Fatalf("Commit version %d: %v", i+1, err)
		}
		CheckContent(t, d, "over/file", data)
		checkList(t, d, map[string]int64{"over/file": int64(len(data))})
	}
}

// testMetadata checks what Stat reports of the committed Meta. Size must be
// kept; mode bits and mtime only by destinations that report them at all.
func testMetadata(t *testing.T, d transfer.Destination) {
	data := Content(13, 777)
	Upload(t, d, "meta.bin", data, ChunkSize)
	m, err := d.Stat(t.Context(), "meta.bin")
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if m.Size != int64(len(data)) {
		t.Errorf("size %d, want %d", m.Size, len(data))
	}
	if perm := m.Mode.Perm(); perm != 0 && perm != 0o640 {
		t.Errorf("mode %v, want perm 0640 (or none reported)", m.Mode)
	}
	if m.Mode.Type() != 0 {
		t.Errorf("mode %v, want a regular file", m.Mode)
	}
	if !m.ModTime.IsZero() && !sameTime(m.ModTime, modTime) {
		t.Errorf("mtime %v, want %v (to the second at least)", m.ModTime, modTime)
	}

	// The committed Meta wins over Begin's: for a growing file Begin knows
	// neither the final mtime nor the final size (Size 0 here, 777 bytes
	// written), so a destination must not pick its strategy on Begin's Size
	// alone.
	later := modTime.Add(90 * time.Minute)
	u, err := d.Begin(t.Context(), "meta2.bin", transfer.Meta{Mode: 0o600, ModTime: time.Unix(0, 0), UID: -1, GID: -1}, nil)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	writeAll(t, u, "meta2.bin", data, ChunkSize)
	final := Meta(data, true)
	final.ModTime = later
	if err := u.Commit(t.Context(), final); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	m, err = d.Stat(t.Context(), "meta2.bin")
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if perm := m.Mode.Perm(); perm != 0 && perm != 0o640 {
		t.Errorf("meta2: mode %v, want perm 0640 from Commit's Meta (or none reported)", m.Mode)
	}
	if !m.ModTime.IsZero() && !sameTime(m.ModTime, later) {
		t.Errorf("meta2: mtime %v, want %v from Commit's Meta", m.ModTime, later)
	}
}

func testCommitHash(t *testing.T, d transfer.Destination) {
	data := Content(14, 3*ChunkSize/2)
	Upload(t, d, "hashed.bin", data, ChunkSize)
	m, err := d.Stat(t.Context(), "hashed.bin")
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	want := Meta(data, true).Hash
	if len(m.Hash) != 0 && !bytes.Equal(m.Hash, want) {
		t.Fatalf("Stat hash %x, want %x (or none)", m.Hash, want)
	}
	// Commit without a hash is allowed too (hashing may be disabled).
	u := begin(t, d, "unhashed.bin", data)
	writeAll(t, u, "unhashed.bin", data, ChunkSize)
	if err := u.Commit(t.Context(), Meta(data, false)); err != nil {
		t.Fatalf("Commit without hash: %v", err)
	}
	CheckContent(t, d, "unhashed.bin", data)
}
