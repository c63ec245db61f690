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
