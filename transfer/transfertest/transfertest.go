// Package transfertest is the conformance suite every transfer.Destination
// must pass. It exists so the mounted-fs and the S3 destinations (and any
// later one) are held to one written-down contract instead of each carrying
// its own idea of what Begin, Commit or Remove mean. It is a normal package
// (not a _test one) so the implementations' tests can import it.
//
// Abilities a destination may lack are tested only when present: optional
// interfaces through transfer.As, and metadata (mode, mtime, hash) only when
// Stat reports it non-zero.
package transfertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zeebo/blake3"

	"github.com/efssync/efssync/transfer"
)

// ChunkSize is the size of the chunks the suite writes, the size the agent
// reads source files in.
const ChunkSize = 1 << 20

// modTime is the mtime every file of the suite is committed with. It has
// nanoseconds so a destination that keeps them is checked to keep them.
var modTime = time.Date(2021, 3, 4, 5, 6, 7, 123456789, time.UTC)

// RunTests runs the conformance suite against destinations made by newDest.
// newDest is called once per subtest and must return an empty destination
// that no other subtest uses (a fresh temp dir, a fresh bucket prefix); it
// should register its own cleanup with t.Cleanup.
func RunTests(t *testing.T, newDest func(t *testing.T) transfer.Destination) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, transfer.Destination)
	}{
		{"Name", testName},
		{"StatMissing", testStatMissing},
		{"EmptyFile", testEmptyFile},
		{"SmallFile", testSmallFile},
		{"MultiChunk", testMultiChunk},
		{"ExactChunkMultiple", testExactChunkMultiple},
		{"WriteIdempotent", testWriteIdempotent},
		{"NotVisibleBeforeCommit", testNotVisibleBeforeCommit},
		{"Abort", testAbort},
		{"AbortKeepsPrevious", testAbortKeepsPrevious},
		{"Overwrite", testOverwrite},
		{"Metadata", testMetadata},
		{"CommitHash", testCommitHash},
		{"Remove", testRemove},
		{"NestedPaths", testNestedPaths},
		{"Names", testNames},
		{"List", testList},
		{"Open", testOpen},
		{"Mkdir", testMkdir},
		{"Symlink", testSymlink},
		{"Link", testLink},
		{"Sync", testSync},
		{"Cleanup", testCleanup},
		{"Concurrent", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newDest(t))
		})
	}
}

// RunResumeTests checks resumable uploads: an upload whose Checkpoint is
// non-nil can be continued by a new Begin after its Upload value is lost (a
// crash), the agent writing the file again from offset 0. Destinations whose
// uploads never return a checkpoint (the fs destination) skip it.
func RunResumeTests(t *testing.T, newDest func(t *testing.T) transfer.Destination) {
	t.Helper()
	t.Run("ResumeAfterCrash", func(t *testing.T) { testResume(t, newDest(t)) })
	t.Run("ResumeSurvivesCleanupKeep", func(t *testing.T) { testResumeCleanupKeep(t, newDest(t)) })
}

// Content returns n deterministic pseudo-random bytes for seed, so failures
// reproduce and different files differ.
func Content(seed uint64, n int) []byte {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}

// Meta returns the metadata the suite uploads data with: mode 0640, a fixed
// mtime with nanoseconds, unknown owner, and (when withHash) its BLAKE3.
func Meta(data []byte, withHash bool) transfer.Meta {
	m := transfer.Meta{
		Size:    int64(len(data)),
		Mode:    0o640,
		ModTime: modTime,
		UID:     -1,
		GID:     -1,
	}
	if withHash {
		sum := blake3.Sum256(data)
		m.Hash = sum[:]
	}
	return m
}

// Upload writes data to rel in chunk-sized writes, in order, and commits it.
func Upload(t *testing.T, d transfer.Destination, rel string, data []byte, chunk int) {
	t.Helper()
	u := begin(t, d, rel, data)
	writeAll(t, u, rel, data, chunk)
	if err := u.Commit(t.Context(), Meta(data, true)); err != nil {
		t.Fatalf("Commit %q: %v", rel, err)
	}
}

// CheckContent fails t unless rel is published with exactly want: Stat's
// size always, and the bytes when the destination is a transfer.Opener.
func CheckContent(t *testing.T, d transfer.Destination, rel string, want []byte) {
	t.Helper()
	m, err := d.Stat(t.Context(), rel)
	if err != nil {
		t.Fatalf("Stat %q: %v", rel, err)
	}
	if m.Size != int64(len(want)) {
		t.Fatalf("Stat %q: size %d, want %d", rel, m.Size, len(want))
	}
	if m.Mode.IsDir() || m.Mode&fs.ModeSymlink != 0 {
		t.Fatalf("Stat %q: mode %v, want a regular file", rel, m.Mode)
	}
	o, ok := transfer.As[transfer.Opener](d)
	if !ok {
		return
	}
	got := readAll(t, o, rel)
	compareBytes(t, rel, got, want)
}

// CheckMissing fails t unless Stat reports rel as not existing.
func CheckMissing(t *testing.T, d transfer.Destination, rel string) {
	t.Helper()
	m, err := d.Stat(t.Context(), rel)
	if err == nil {
		t.Fatalf("Stat %q: exists (size %d), want fs.ErrNotExist", rel, m.Size)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat %q: %v, want an error wrapping fs.ErrNotExist", rel, err)
	}
}

func begin(t *testing.T, d transfer.Destination, rel string, data []byte) transfer.Upload {
	t.Helper()
	m := Meta(data, false)
	u, err := d.Begin(t.Context(), rel, m, nil)
	if err != nil {
		t.Fatalf("Begin %q: %v", rel, err)
	}
	if u == nil {
		t.Fatalf("Begin %q: nil Upload and nil error", rel)
	}
	return u
}

func writeAll(t *testing.T, u transfer.Upload, rel string, data []byte, chunk int) {
	t.Helper()
	for off := 0; off < len(data); off += chunk {
		end := min(off+chunk, len(data))
		if err := u.Write(t.Context(), int64(off), data[off:end]); err != nil {
			t.Fatalf("Write %q at %d (%d bytes): %v", rel, off, end-off, err)
		}
	}
}

func readAll(t *testing.T, o transfer.Opener, rel string) []byte {
	t.Helper()
	r, err := o.Open(t.Context(), rel)
	if err != nil {
		t.Fatalf("Open %q: %v", rel, err)
	}
	got, err := io.ReadAll(r)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("reading %q: %v", rel, err)
	}
	return got
}

// compareBytes reports the first difference instead of dumping megabytes.
func compareBytes(t *testing.T, rel string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	n := min(len(got), len(want))
	i := 0
	for i < n && got[i] == want[i] {
		i++
	}
	t.Fatalf("content of %q: %d bytes, want %d; first difference at offset %d", rel, len(got), len(want), i)
}

// listFiles returns the non-directory entries a Lister reports, with sizes.
func listFiles(t *testing.T, l transfer.Lister) map[string]int64 {
	t.Helper()
	var mu sync.Mutex // List may call fn concurrently; the contract does not say
	got := map[string]int64{}
	err := l.List(t.Context(), func(rel string, m transfer.Meta) error {
		if m.Mode.IsDir() {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		if _, dup := got[rel]; dup {
			return fmt.Errorf("%q listed twice", rel)
		}
		got[rel] = m.Size
		return nil
	})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return got
}

// checkList fails t unless a Lister (when d is one) reports exactly want.
func checkList(t *testing.T, d transfer.Destination, want map[string]int64) {
	t.Helper()
	l, ok := transfer.As[transfer.Lister](d)
	if !ok {
		return
	}
	got := listFiles(t, l)
	var problems []string
	for rel, size := range want {
		gs, ok := got[rel]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("missing %q", rel))
		case gs != size:
			problems = append(problems, fmt.Sprintf("%q has size %d, want %d", rel, gs, size))
		}
	}
	for rel := range got {
		if _, ok := want[rel]; !ok {
			problems = append(problems, fmt.Sprintf("unexpected %q", rel))
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		t.Fatalf("List: %s", strings.Join(problems, "; "))
	}
}

// sameTime accepts got when it is want at some precision from nanoseconds to
// seconds, truncated or rounded: destinations keep what they can.
func sameTime(got, want time.Time) bool {
	for _, p := range []time.Duration{time.Nanosecond, time.Microsecond, time.Millisecond, time.Second} {
		if got.Equal(want.Truncate(p)) || got.Equal(want.Round(p)) {
			return true
		}
	}
	return false
}

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

func testRemove(t *testing.T, d transfer.Destination) {
	data := Content(15, 100)
	Upload(t, d, "rm/file", data, ChunkSize)
	Upload(t, d, "rm/other", data, ChunkSize)
	if err := d.Remove(t.Context(), "rm/file"); err != nil {
		t.Fatalf("Remove existing: %v", err)
	}
	CheckMissing(t, d, "rm/file")
	CheckContent(t, d, "rm/other", data)
	if err := d.Remove(t.Context(), "rm/file"); err != nil {
		t.Fatalf("Remove again: %v (removing a missing entry is not an error)", err)
	}
	if err := d.Remove(t.Context(), "no/such/dir/file"); err != nil {
		t.Fatalf("Remove below a missing dir: %v", err)
	}
	checkList(t, d, map[string]int64{"rm/other": int64(len(data))})
}

func testNestedPaths(t *testing.T, d transfer.Destination) {
	files := map[string][]byte{
		"a/b/c.txt":           Content(16, 10),
		"a/b/d.txt":           Content(17, 20),
		"a/e.txt":             Content(18, 30),
		"x/y/z/w/v/u/deep.go": Content(19, ChunkSize+1),
	}
	want := map[string]int64{}
	for rel, data := range files {
		Upload(t, d, rel, data, ChunkSize)
		want[rel] = int64(len(data))
	}
	for rel, data := range files {
		CheckContent(t, d, rel, data)
	}
	checkList(t, d, want)
}

func testNames(t *testing.T, d transfer.Destination) {
	names := []string{
		"with space.txt",
		" leading and trailing ",
		"new\nline",
		"tab\there",
		strings.Repeat("x", 251) + ".txt", // NAME_MAX: 255 bytes
		"dir/" + strings.Repeat("y", 255), // 255 bytes below a dir
		"ünïcødé/日本語のファイル名.txt",           // multi-byte
		strings.Repeat("é", 127) + "z",    // 255 bytes of UTF-8
		"-dash", ".hidden", "..dots", "a%20b", "q?x=1&y#z", "star*", "back\\slash",
		"ends.with.dot.",
	}
	want := map[string]int64{}
	for i, rel := range names {
		data := Content(uint64(100+i), 10+i)
		Upload(t, d, rel, data, ChunkSize)
		CheckContent(t, d, rel, data)
		want[rel] = int64(len(data))
	}
	checkList(t, d, want)
}

func testList(t *testing.T, d transfer.Destination) {
	l, ok := transfer.As[transfer.Lister](d)
	if !ok {
		t.Skip("not a transfer.Lister")
	}
	if got := listFiles(t, l); len(got) != 0 {
		t.Fatalf("List of a new destination: %v, want nothing", got)
	}
	want := map[string]int64{}
	for i, rel := range []string{"l1", "d/l2", "d/e/l3", "d/e/l4"} {
		data := Content(uint64(200+i), i*1000)
		Upload(t, d, rel, data, ChunkSize)
		want[rel] = int64(len(data))
	}
	if err := d.Remove(t.Context(), "d/e/l4"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	delete(want, "d/e/l4")
	checkList(t, d, want)

	// An error from fn stops List and is returned.
	stop := errors.New("stop")
	calls := 0
	err := l.List(t.Context(), func(string, transfer.Meta) error { calls++; return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("List with failing fn: %v, want the fn's error", err)
	}
	if calls != 1 {
		t.Fatalf("List called fn %d times after it failed, want 1", calls)
	}
}

func testOpen(t *testing.T, d transfer.Destination) {
	o, ok := transfer.As[transfer.Opener](d)
	if !ok {
		t.Skip("not a transfer.Opener")
	}
	data := Content(20, 2*ChunkSize+17)
	Upload(t, d, "o/open.bin", data, ChunkSize)
	compareBytes(t, "o/open.bin", readAll(t, o, "o/open.bin"), data)
	_, err := o.Open(t.Context(), "o/missing")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open missing: %v, want an error wrapping fs.ErrNotExist", err)
	}
}

func testMkdir(t *testing.T, d transfer.Destination) {
	dm, ok := transfer.As[transfer.DirMaker](d)
	if !ok {
		t.Skip("not a transfer.DirMaker")
	}
	m := transfer.Meta{Mode: fs.ModeDir | 0o750, ModTime: modTime, UID: -1, GID: -1}
	if err := dm.Mkdir(t.Context(), "m/n/o", m); err != nil {
		t.Fatalf("Mkdir nested: %v", err)
	}
	// A rerun after a crash makes the same directory again.
	if err := dm.Mkdir(t.Context(), "m/n/o", m); err != nil {
		t.Fatalf("Mkdir existing: %v", err)
	}
	got, err := d.Stat(t.Context(), "m/n/o")
	if err != nil {
		t.Fatalf("Stat dir: %v", err)
	}
	if !got.Mode.IsDir() {
		t.Fatalf("Stat dir: mode %v, want a directory", got.Mode)
	}
	if perm := got.Mode.Perm(); perm != 0 && perm != 0o750 {
		t.Errorf("Stat dir: mode %v, want perm 0750", got.Mode)
	}
	data := Content(21, 10)
	Upload(t, d, "m/n/o/f", data, ChunkSize)
	CheckContent(t, d, "m/n/o/f", data)
}

func testSymlink(t *testing.T, d transfer.Destination) {
	s, ok := transfer.As[transfer.Symlinker](d)
	if !ok {
		t.Skip("not a transfer.Symlinker")
	}
	m := transfer.Meta{Mode: fs.ModeSymlink | 0o777, ModTime: modTime, UID: -1, GID: -1}
	if err := s.Symlink(t.Context(), "s/link", "../target", m); err != nil {
		t.Fatalf("Symlink: %v", err)
	}
	got, err := d.Stat(t.Context(), "s/link")
	if err != nil {
		t.Fatalf("Stat link: %v", err)
	}
	if got.Mode&fs.ModeSymlink == 0 {
		t.Fatalf("Stat link: mode %v, want a symlink (the link, not its target)", got.Mode)
	}
	// A rerun publishes the link again, possibly with a new target.
	if err := s.Symlink(t.Context(), "s/link", "other", m); err != nil {
		t.Fatalf("Symlink over existing link: %v", err)
	}
}

func testLink(t *testing.T, d transfer.Destination) {
	l, ok := transfer.As[transfer.Linker](d)
	if !ok {
		t.Skip("not a transfer.Linker")
	}
	data := Content(22, 4096)
	Upload(t, d, "h/orig", data, ChunkSize)
	if err := l.Link(t.Context(), "h/orig", "h2/link"); err != nil {
		t.Fatalf("Link: %v", err)
	}
	CheckContent(t, d, "h2/link", data)
	CheckContent(t, d, "h/orig", data)
}

func testSync(t *testing.T, d transfer.Destination) {
	s, ok := transfer.As[transfer.Syncer](d)
	if !ok {
		t.Skip("not a transfer.Syncer")
	}
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
	c, ok := transfer.As[transfer.Cleaner](d)
	if !ok {
		t.Skip("not a transfer.Cleaner")
	}
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
	u := begin(t, d, rel, data)
	writeAll(t, u, rel, data[:12*ChunkSize], ChunkSize)
	cp := u.Checkpoint()
	if cp == nil {
		t.Skip("uploads return no checkpoint: not resumable")
	}
	CheckMissing(t, d, rel)
	// The checkpoint is persisted as JSON in the manifest; what comes back
	// is a copy, not the destination's own value.
	cp = cloneCheckpoint(cp)

	u2, err := d.Begin(t.Context(), rel, Meta(data, false), cp)
	if err != nil {
		t.Fatalf("Begin with checkpoint: %v", err)
	}
	writeAll(t, u2, rel, data, ChunkSize)
	if err := u2.Commit(t.Context(), Meta(data, true)); err != nil {
		t.Fatalf("Commit resumed upload: %v", err)
	}
	CheckContent(t, d, rel, data)
	checkList(t, d, map[string]int64{rel: int64(len(data))})
}

// testResumeCleanupKeep checks that Cleanup spares uploads its keep function
// names, so a checkpoint stays usable.
func testResumeCleanupKeep(t *testing.T, d transfer.Destination) {
	c, ok := transfer.As[transfer.Cleaner](d)
	if !ok {
		t.Skip("not a transfer.Cleaner")
	}
	data := Content(401, 11*ChunkSize+1)
	const rel = "r/kept-upload.bin"
	u := begin(t, d, rel, data)
	writeAll(t, u, rel, data[:11*ChunkSize], ChunkSize)
	cp := u.Checkpoint()
	if cp == nil {
		t.Skip("uploads return no checkpoint: not resumable")
	}
	cp = cloneCheckpoint(cp)
	if _, err := c.Cleanup(t.Context(), func(id string) bool { return id == cp.UploadID }); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	u2, err := d.Begin(t.Context(), rel, Meta(data, false), cp)
	if err != nil {
		t.Fatalf("Begin with kept checkpoint: %v", err)
	}
	writeAll(t, u2, rel, data, ChunkSize)
	if err := u2.Commit(t.Context(), Meta(data, true)); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	CheckContent(t, d, rel, data)
}

func cloneCheckpoint(cp *transfer.Checkpoint) *transfer.Checkpoint {
	c := *cp
	c.Parts = slices.Clone(cp.Parts)
	return &c
}
