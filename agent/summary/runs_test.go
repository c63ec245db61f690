package summary

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FindRun takes a whole name, a name without .jsonl or a unique prefix;
// it never guesses between several files.
func TestFindRun(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"run-20261206T2215.jsonl", "run-20261206T2216.jsonl", "run-2026.jsonl", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for run, want := range map[string]string{
		"run-20261206T2215.jsonl": "run-20261206T2215.jsonl",
		"run-20261206T2216":       "run-20261206T2216.jsonl",
		"run-2026":                "run-2026.jsonl", // a whole name wins over a prefix of longer ones
		"run-20261206T2215":       "run-20261206T2215.jsonl",
	} {
		got, err := FindRun(dir, run)
		if err != nil || got != filepath.Join(dir, want) {
			t.Errorf("FindRun(%q) = %q, %v; want %s", run, got, err, want)
		}
	}
	if _, err := FindRun(dir, "run-20261206"); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("prefix of two runs: %v, want ambiguous", err)
	}
	if _, err := FindRun(dir, "notes"); !errors.Is(err, ErrNoRun) {
		t.Errorf("a file that is no report: %v, want ErrNoRun", err)
	}
	if _, err := FindRun(dir, "../x"); err == nil {
		t.Error("a RUN with a slash was accepted")
	}
}
