package main

import (
	"errors"
	"fmt"
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

// Ctrl-C during a bandwidth-limited run with many files in flight: every
// file cut short is reported interrupted, none failed, no error is logged,
// and one line says what is left (issue 21: 192 "context canceled" errors
// and failed=192 before).
func TestInterruptIsNotFailure(t *testing.T) {
	t.Parallel()
	src := bigSource(t)
	dirs := mkdirs(t, t.TempDir(), "dst", "cfg")
	dst, cfgDir := dirs[0], dirs[1]
	cfg := writeConfig(t, cfgDir, job{source: src, dests: []string{dst}})
	report := filepath.Join(cfgDir, "report.jsonl")
	s := start(t, "run", "--config", cfg, "--report", report, "--bwlimit", "4M", "--transfers", "8")
	if !s.waitTempFile(t, dst, 0) {
		t.Fatalf("the run ended (%v) before any copy was in flight\nstderr:\n%s", s.err, s.stderr.String())
	}
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-s.done
	var ee *exec.ExitError
	if !errors.As(s.err, &ee) || ee.ExitCode() != ExitInterrupted {
		t.Fatalf("exit %v, want %d\nstderr:\n%s", s.err, ExitInterrupted, s.stderr.String())
	}
	stderr := s.stderr.String()
	if strings.Contains(stderr, `"level":"ERROR"`) || strings.Contains(stderr, "context canceled\"}") {
		t.Errorf("an interrupt logged errors:\n%s", stderr)
	}
	if got := num(t, finished(t, stderr), "failed"); got != 0 {
		t.Errorf("failed=%d after an interrupt, want 0", got)
	}
	var done, left int
	if _, err := fmt.Sscanf(stderr[strings.Index(stderr, "interrupted: "):], "interrupted: %d files done, %d left for the next run", &done, &left); err != nil || left == 0 {
		t.Errorf("no line \"interrupted: N files done, M left for the next run\" with M > 0 (%v):\n%s", err, stderr)
	}
	cut := 0
	for _, l := range readReport(t, report) {
		switch l.Status {
		case "failed":
			t.Errorf("report line %+v: failed, want interrupted", l)
		case "interrupted":
			cut++
		}
	}
	if cut < 2 {
		t.Errorf("%d interrupted lines in the report, want the files cut short and the run's last line", cut)
	}
	mustCode(t, efssync(t, nil, "run", "--config", cfg), 0)
}
