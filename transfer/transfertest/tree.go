package transfertest

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/efssync/efssync/transfer"
)

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
	l := need[transfer.Lister](t, d)
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
	o := need[transfer.Opener](t, d)
	data := Content(20, 2*ChunkSize+17)
	Upload(t, d, "o/open.bin", data, ChunkSize)
	compareBytes(t, "o/open.bin", readAll(t, o, "o/open.bin"), data)
	_, err := o.Open(t.Context(), "o/missing")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open missing: %v, want an error wrapping fs.ErrNotExist", err)
	}
}

func testMkdir(t *testing.T, d transfer.Destination) {
	dm := need[transfer.DirMaker](t, d)
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
	s := need[transfer.Symlinker](t, d)
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
	l := need[transfer.Linker](t, d)
	data := Content(22, 4096)
	Upload(t, d, "h/orig", data, ChunkSize)
	if err := l.Link(t.Context(), "h/orig", "h2/link"); err != nil {
		t.Fatalf("Link: %v", err)
	}
	CheckContent(t, d, "h2/link", data)
	CheckContent(t, d, "h/orig", data)
}
