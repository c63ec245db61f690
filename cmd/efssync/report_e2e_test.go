package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Issue 20 #13: a run killed by SIGKILL left an empty report (its lines
// were in a 256 KiB buffer), and `report summary` took the empty latest
// report for an older one and said "in sync" with exit 0. Now the report's
// started line is on disk from the start, and a report without its closing
// line whose process is gone counts as a failed run.
func TestReportSummaryOfKilledRunFails(t *testing.T) {
	t.Parallel()
	dirs := mkdirs(t, t.TempDir(), "small", "dst1", "dst2", "cfg", "reports")
	small, dst1, dst2, cfgDir, reports := dirs[0], dirs[1], dirs[2], dirs[3], dirs[4]
	if err := os.WriteFile(filepath.Join(small, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	okCfg := writeConfig(t, filepath.Join(cfgDir), job{source: small, dests: []string{dst1}})
	earlier := filepath.Join(reports, "earlier-0-of-1.jsonl")
	mustCode(t, efssync(t, nil, "run", "--config", okCfg, "--report", earlier), 0)
	mustCode(t, efssync(t, nil, "report", "summary", earlier), 0)

	bigCfgDir := mkdirs(t, cfgDir, "big")[0]
	bigCfg := writeConfig(t, bigCfgDir, job{source: bigSource(t), dests: []string{dst2}, extra: "    concurrency: 1\n"})
	killed := filepath.Join(reports, "later-0-of-1.jsonl")
	s := start(t, "run", "--config", bigCfg, "--report", killed)
	if !s.waitTempFile(t, dst2, 1) {
		t.Fatalf("the run ended (%v) before a copy was in flight\nstderr:\n%s", s.err, s.stderr.String())
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.done
	var ee *exec.ExitError
	if !errors.As(s.err, &ee) || ee.Exited() {
		t.Fatalf("the run was not killed: %v", s.err)
	}
	b, err := os.ReadFile(killed)
	if err != nil {
		t.Fatal(err)
	}
	var first struct {
		Status string
		PID    int
	}
	if err := json.Unmarshal([]byte(strings.SplitN(string(b), "\n", 2)[0]), &first); err != nil || first.Status != "started" || first.PID != s.cmd.Process.Pid {
		t.Fatalf("killed run's report starts %+v (%v), want a started line with pid %d:\n%.500s", first, err, s.cmd.Process.Pid, b)
	}

	r := efssync(t, nil, "report", "summary", earlier, killed)
	mustCode(t, r, ExitFailed)
	for _, want := range []string{"superseded", "killed (no closing line", "NOT in sync"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	}
}

// Issue 21 item 5: an unchanged entry is counted, not listed, unless -vv
// asks for it: the re-run's report holds only its framing, whose ended line
// carries the count, and `report summary` shows it.
func TestUnchangedCountedNotListed(t *testing.T) {
	t.Parallel()
	dirs := mkdirs(t, t.TempDir(), "src", "dst", "cfg")
	src, dst, cfgDir := dirs[0], dirs[1], dirs[2]
	for _, n := range []string{"a", "b", "c"} {
		if err := os.WriteFile(filepath.Join(src, n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := writeConfig(t, cfgDir, job{source: src, dests: []string{dst}})
	mustCode(t, efssync(t, nil, "run", "--config", cfg), 0)
	rep := filepath.Join(cfgDir, "rerun.jsonl")
	mustCode(t, efssync(t, nil, "run", "--config", cfg, "--report", rep), 0)
	b, err := os.ReadFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var end struct {
		Status    string
		Unchanged int64
	}
	if len(lines) != 2 || json.Unmarshal([]byte(lines[1]), &end) != nil || end.Status != "ended" || end.Unchanged != 3 {
		t.Fatalf("re-run report: want a started line and an ended line counting 3 unchanged, got:\n%s", b)
	}
	r := efssync(t, nil, "report", "summary", "--json", rep)
	mustCode(t, r, 0)
	var sum struct {
		Reports []struct{ Unchanged int64 }
	}
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil || len(sum.Reports) != 1 || sum.Reports[0].Unchanged != 3 {
		t.Errorf("summary (%v): %s", err, r.stdout)
	}
}
