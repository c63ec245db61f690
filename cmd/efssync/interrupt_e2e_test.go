package main

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// An interrupted once-mode run is not in sync: SIGTERM or SIGINT while
// files are in flight exits non-zero, the log's summary and the report say
// interrupted, and the next run completes (issue 11, D7).
func TestInterruptedOnceRunExitsNonZero(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			src := bigSource(t)
			dirs := mkdirs(t, t.TempDir(), "dst", "cfg")
			dst, cfgDir := dirs[0], dirs[1]
			cfg := writeConfig(t, cfgDir, job{source: src, dests: []string{dst}, extra: "    concurrency: 1\n"})
			report := filepath.Join(cfgDir, "report.jsonl")
			s := start(t, "run", "--config", cfg, "--report", report)
			if !s.waitTempFile(t, dst, 0) {
				t.Fatalf("the run ended (%v) before any copy was in flight\nstderr:\n%s", s.err, s.stderr.String())
			}
			if err := s.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			<-s.done
			var ee *exec.ExitError
			if !errors.As(s.err, &ee) || !ee.Exited() || ee.ExitCode() != ExitInterrupted {
				t.Fatalf("interrupted run: %v, want exit %d\nstderr:\n%s", s.err, ExitInterrupted, s.stderr.String())
			}
			if n := strings.Count(s.stderr.String(), "interrupted: "); n != 1 {
				t.Errorf("want one line \"interrupted: N files done, M left for the next run\", got %d:\n%s", n, s.stderr.String())
			}
			if got := finished(t, s.stderr.String())["interrupted"]; got != true {
				t.Errorf("run finished line says interrupted=%v", got)
			}
			if !strings.Contains(s.stderr.String(), "interrupted") {
				t.Errorf("stderr does not say the run was interrupted:\n%s", s.stderr.String())
			}
			lines := readReport(t, report)
			if last := lines[len(lines)-1]; last.Status != "interrupted" {
				t.Errorf("report's last line %+v, want status interrupted", last)
			}
			mustCode(t, efssync(t, nil, "run", "--config", cfg), 0)
		})
	}
}
