package summary

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/efssync/efssync/agent/report"
)

// deadPID is the PID of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// A framed report without its closing line is a killed run when its
// process is gone, and a running one while it lives (issue 20 #13).
func TestUnclosedReportKilledOrRunning(t *testing.T) {
	started := func(pid int) report.Line { return report.Line{Status: report.StatusStarted, PID: pid} }
	ended := report.Line{Status: report.StatusEnded}
	dead := deadPID(t)
	for _, tc := range []struct {
		name         string
		lines        []report.Line
		killed, runs bool
		ok           bool
	}{
		{"closed", []report.Line{started(dead), copied("/d", 1), ended}, false, false, true},
		{"killed", []report.Line{started(dead), copied("/d", 1)}, true, false, false},
		{"killed before a line", []report.Line{started(dead)}, true, false, false},
		{"running", []report.Line{started(os.Getpid()), copied("/d", 1)}, false, true, true},
		{"unframed (older report)", []report.Line{copied("/d", 1)}, false, false, true},
	} {
		r := mkReport(t, "/r/x.jsonl", t0, tc.lines...)
		r.judgeUnclosed(processAlive)
		if r.Killed != tc.killed || r.Running != tc.runs || r.OK() != tc.ok {
			t.Errorf("%s: killed %v running %v ok %v, want %v %v %v", tc.name, r.Killed, r.Running, r.OK(), tc.killed, tc.runs, tc.ok)
		}
	}
}

// The defect: an empty latest report (a run killed before its buffer was
// written) was ordered before the older report it followed, so the older
// one's success stood. ReadFile orders a report without lines by its file
// time, and the latest, killed run fails the summary.
func TestEmptyLatestReportIsNotSuperseded(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old-0-of-1.jsonl")
	killed := filepath.Join(dir, "new-0-of-1.jsonl")
	if err := os.WriteFile(old, []byte(`{"time":"2026-11-25T12:00:00Z","job":"j","path":"f","status":"copied","bytes":1,"duration_ms":0}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(killed, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var rs []*Report
	for _, p := range []string{old, killed} {
		r, err := ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	s, err := Merge(rs, 0)
	if err != nil {
		t.Fatal(err)
	}
	if s.OK() || !rs[0].Superseded || rs[1].Superseded {
		t.Fatalf("old superseded %v, empty latest superseded %v, ok %v", rs[0].Superseded, rs[1].Superseded, s.OK())
	}
	var b strings.Builder
	if err := s.WriteText(&b); err != nil || !strings.Contains(b.String(), "NOT in sync") {
		t.Errorf("summary text (%v):\n%s", err, b.String())
	}
}
