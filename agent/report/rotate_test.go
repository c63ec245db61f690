package report

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func reportFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "run-*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

// A report rotates by size and by age, keeps only Keep files, and never
// loses a line: every line written is in exactly one kept or removed file.
func TestReportRotatesBySizeAndAgeWithRetention(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	first := filepath.Join(dir, "run-"+t0.Format("20060102T150405.000000000Z")+".jsonl")
	r, err := OpenRotating(first, Rotation{MaxSize: 1000, MaxAge: time.Hour, Retention: Retention{Keep: 3}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	r.ListUnchanged(true)
	now := t0
	for i := range 40 { // about 100 bytes a line: a rotation every ~10 lines
		now = now.Add(time.Second)
		r.WriteSkip(now, "j", "dir/file-"+string(rune('a'+i%26)))
	}
	if got := reportFiles(t, dir); len(got) != 3 {
		t.Fatalf("after size rotations: %d files %v, want 3 kept", len(got), got)
	}
	for _, f := range reportFiles(t, dir)[:2] {
		if st, _ := os.Stat(f); st.Size() < 1000 || st.Size() > 1200 {
			t.Errorf("%s: %d bytes, want just over the 1000-byte limit", f, st.Size())
		}
	}
	// Age: one line two hours later goes into the current file, then
	// rotates; the next line starts a new file.
	before := reportFiles(t, dir)
	r.Write(Line{Time: now.Add(2 * time.Hour), Job: "j", Path: "late", Status: StatusCopied})
	after := reportFiles(t, dir)
	if slices.Equal(before, after) {
		t.Errorf("no rotation after MaxAge: %v", after)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestPruneReportsKeepsNewestAndOtherFiles(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	names := []string{"run-20260101T000000.000000000Z.jsonl", "run-20260102T000000.000000000Z.jsonl", "run-20260103T000000.000000000Z.jsonl", "notes.txt"}
	for i, n := range names {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		mod := now.Add(-time.Duration(10-i) * 24 * time.Hour)
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := Prune(dir, Retention{Keep: 2}, now)
	if err != nil || len(removed) != 1 || filepath.Base(removed[0]) != names[0] {
		t.Fatalf("keep 2: removed %v, %v", removed, err)
	}
	// Age: the two left are 9 and 8 days old.
	removed, err = Prune(dir, Retention{MaxAge: 200 * time.Hour}, now)
	if err != nil || len(removed) != 1 || filepath.Base(removed[0]) != names[1] {
		t.Fatalf("max age: removed %v, %v", removed, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Errorf("a file that is no report was removed: %v", err)
	}
	if r, err := Prune(filepath.Join(dir, "missing"), Retention{Keep: 1}, now); err != nil || r != nil {
		t.Errorf("missing dir: %v, %v", r, err)
	}
}
