package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestArchiveKeepsSourceForDestinationMissingAtStart: with after_archive:
// delete, a destination unusable at start (its root not mounted) still
// counts. The source stays until that destination holds the file too, and
// goes in the run after it came back (issue 20, defect 1, through the binary).
func TestArchiveKeepsSourceForDestinationMissingAtStart(t *testing.T) {
	dir := t.TempDir()
	d := mkdirs(t, dir, "src", "a")
	src, a := d[0], d[1]
	b := filepath.Join(dir, "b-not-mounted")
	rec := filepath.Join(src, "rec.mp4")
	if err := os.WriteFile(rec, []byte("recording"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(rec, old, old); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, dir, job{source: src, dests: []string{a, b},
		extra: "    finished:\n      quiet: 1s\n    after_archive: delete\n"})

	r := efssync(t, nil, "run", "--config", cfg)
	mustCode(t, r, 1) // one destination unusable, the other synced
	if got, err := os.ReadFile(filepath.Join(a, "rec.mp4")); err != nil || string(got) != "recording" {
		t.Fatalf("usable destination: %q, %v", got, err)
	}
	if _, err := os.Stat(rec); err != nil {
		t.Fatalf("source released although %s never got it: %v\nstderr:\n%s", b, err, r.stderr)
	}

	if err := os.MkdirAll(b, 0o755); err != nil {
		t.Fatal(err)
	}
	r = efssync(t, nil, "run", "--config", cfg)
	mustCode(t, r, 0)
	if got, err := os.ReadFile(filepath.Join(b, "rec.mp4")); err != nil || string(got) != "recording" {
		t.Fatalf("destination back: %q, %v\nstderr:\n%s", got, err, r.stderr)
	}
	if _, err := os.Stat(rec); !os.IsNotExist(err) {
		t.Fatalf("source kept after every destination holds it: %v\nstderr:\n%s", err, r.stderr)
	}
}
