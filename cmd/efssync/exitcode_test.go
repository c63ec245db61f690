package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The units quote the exit-code table: RestartPreventExitStatus holds only
// the usage code (a mount missing at boot, exit 4, must be retried), and an
// interrupted pass counts as a clean stop.
func TestUnitsUseExitCodes(t *testing.T) {
	units, err := filepath.Glob("../../systemd/*.service")
	if err != nil || len(units) == 0 {
		t.Fatalf("no unit files: %v", err)
	}
	for _, u := range units {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			key, val, ok := strings.Cut(line, "=")
			if !ok || strings.HasPrefix(line, "#") {
				continue
			}
			switch key {
			case "RestartPreventExitStatus":
				if val != strconv.Itoa(ExitUsage) {
					t.Errorf("%s: RestartPreventExitStatus=%s, want only %d", u, val, ExitUsage)
				}
			case "SuccessExitStatus":
				if val != strconv.Itoa(ExitInterrupted) {
					t.Errorf("%s: SuccessExitStatus=%s, want %d", u, val, ExitInterrupted)
				}
			}
		}
	}
}

// exitCode maps each error class to its row.
func TestExitCodeOf(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{errSyncFailed, ExitFailed},
		{errUnusable, ExitFailed},
		{usageError{errSyncFailed}, ExitUsage},
		{quietError{errInterrupted}, ExitInterrupted},
		{errNothingDone, ExitNothingDone},
	} {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}
