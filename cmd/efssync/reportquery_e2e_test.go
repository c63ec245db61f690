package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Issue 21 item 5: reports answer "what failed last night?" from the
// configuration's report_dir: last, failed, show RUN and files PATTERN,
// each with --json, bad input exiting 2.
func TestReportQueries(t *testing.T) {
	t.Parallel()
	dirs := mkdirs(t, t.TempDir(), "src", "dst", "cfg")
	src, dst, cfgDir := dirs[0], dirs[1], dirs[2]
	for _, n := range []string{"a.txt", "b.txt"} {
		if err := os.WriteFile(filepath.Join(src, n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A directory holding two entries where b.txt goes: replacing it would
	// delete more than max_delete allows, so b.txt fails in the first run.
	if err := os.MkdirAll(filepath.Join(dst, "b.txt", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, cfgDir, job{source: src, dests: []string{dst}})
	mustCode(t, efssync(t, nil, "run", "--config", cfg), ExitFailed)
	mustCode(t, efssync(t, nil, "report", "last", "--config", cfg), ExitFailed)
	if err := os.RemoveAll(filepath.Join(dst, "b.txt")); err != nil {
		t.Fatal(err)
	}
	mustCode(t, efssync(t, nil, "run", "--config", cfg), 0)

	r := efssync(t, nil, "report", "last", "--config", cfg, "--json")
	mustCode(t, r, 0)
	var last struct {
		OK      bool
		Reports []struct{ Path string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &last); err != nil || !last.OK || len(last.Reports) != 1 {
		t.Fatalf("report last --json (%v):\n%s", err, r.stdout)
	}
	newest := filepath.Base(last.Reports[0].Path)

	r = efssync(t, nil, "report", "failed", "--config", cfg, "--json")
	mustCode(t, r, 0)
	var failed []struct {
		Report, Path, Status, Error string
	}
	if err := json.Unmarshal([]byte(r.stdout), &failed); err != nil || len(failed) != 1 ||
		failed[0].Path != "b.txt" || failed[0].Status != "failed" || !strings.Contains(failed[0].Error, "max_delete") ||
		filepath.Base(failed[0].Report) == newest {
		t.Fatalf("report failed --json (%v): want b.txt failed in the first run:\n%s", err, r.stdout)
	}
	r = efssync(t, nil, "report", "failed", "--config", cfg)
	mustCode(t, r, 0)
	if !strings.Contains(r.stdout, "b.txt") || !strings.Contains(r.stdout, "max_delete") {
		t.Errorf("report failed:\n%s", r.stdout)
	}
	mustCode(t, efssync(t, nil, "report", "failed", "--config", cfg, "--since", "-1h"), ExitUsage)

	r = efssync(t, nil, "report", "files", "--config", cfg, "--json", "*.txt")
	mustCode(t, r, 0)
	var files []struct{ Report, Path, Status string }
	if err := json.Unmarshal([]byte(r.stdout), &files); err != nil {
		t.Fatal(err, r.stdout)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Path+" "+f.Status)
	}
	// Newest run first: the second run copied b.txt (a.txt was unchanged,
	// so not listed); the first copied a.txt and failed b.txt, in the
	// order its workers finished.
	if len(got) != 3 || got[0] != "b.txt copied" || files[0].Report == files[1].Report ||
		!slices.Contains(got[1:], "b.txt failed") || !slices.Contains(got[1:], "a.txt copied") {
		t.Errorf("report files '*.txt': got %q, want b.txt copied, then b.txt failed and a.txt copied", got)
	}
	r = efssync(t, nil, "report", "files", "--config", cfg, "a.*")
	mustCode(t, r, 0)
	if !strings.Contains(r.stdout, "a.txt") || strings.Contains(r.stdout, "b.txt") {
		t.Errorf("report files 'a.*':\n%s", r.stdout)
	}
	r = efssync(t, nil, "report", "files", "--config", cfg, "[")
	mustCode(t, r, ExitUsage)
	if !strings.Contains(r.stderr, `pattern "["`) {
		t.Errorf("bad pattern: %s", r.stderr)
	}

	r = efssync(t, nil, "report", "show", "--config", cfg, "--json", strings.TrimSuffix(newest, ".jsonl")[:len("run-20060102T1504")])
	if r.code == ExitUsage {
		// Both runs began within one minute: the prefix is ambiguous, and says so.
		if !strings.Contains(r.stderr, "ambiguous") {
			t.Errorf("ambiguous prefix: %s", r.stderr)
		}
		r = efssync(t, nil, "report", "show", "--config", cfg, "--json", strings.TrimSuffix(newest, ".jsonl"))
	}
	mustCode(t, r, 0)
	var shown []struct{ Status, Path string }
	if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil || len(shown) != 3 ||
		shown[0].Status != "started" || shown[1].Path != "b.txt" || shown[2].Status != "ended" {
		t.Errorf("report show --json (%v):\n%s", err, r.stdout)
	}
	r = efssync(t, nil, "report", "show", "--config", cfg, "run-")
	mustCode(t, r, ExitUsage)
	if !strings.Contains(r.stderr, "ambiguous") {
		t.Errorf("report show run-: %s", r.stderr)
	}
	r = efssync(t, nil, "report", "show", "--config", cfg, "nope")
	mustCode(t, r, ExitUsage)
	if !strings.Contains(r.stderr, `run "nope": no such run`) {
		t.Errorf("report show nope: %s", r.stderr)
	}
	mustCode(t, efssync(t, nil, "report", "show", "--config", cfg), ExitUsage)

	for _, sub := range []string{"last", "failed", "show", "files"} {
		r := efssync(t, nil, "report", sub, "--help")
		mustCode(t, r, 0)
		if !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "--json") {
			t.Errorf("report %s --help lacks examples or --json:\n%s", sub, r.stdout)
		}
	}
}
