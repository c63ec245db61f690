package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/efssync/efssync/config"
)

// A watch job that fails (its source is not there yet) is restarted with
// backoff and counted, while the other watch job keeps replicating; once
// the source appears, the restarted job replicates too.
func TestFailedWatchJobRestartsOthersKeepRunning(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"good", "good-dst", "late-dst"} {
		must(t, os.MkdirAll(filepath.Join(dir, d), 0o755))
	}
	cfgText := fmt.Sprintf(`state_dir: %[1]s/state
jobs:
  - name: good
    mode: watch
    source: %[1]s/good
    destinations: [{type: fs, path: %[1]s/good-dst}]
  - name: late
    mode: watch
    source: %[1]s/late
    destinations: [{type: fs, path: %[1]s/late-dst}]
`, dir)
	p := filepath.Join(dir, "config.yaml")
	must(t, os.WriteFile(p, []byte(cfgText), 0o600))
	cfg, err := config.Load(p, nil)
	if err != nil {
		t.Skipf("config refuses a missing source up front: %v", err)
	}
	a, err := New(cfg, Options{Log: testLogger(t)})
	must(t, err)
	defer a.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := a.Run(ctx); done <- err }()

	must(t, os.WriteFile(filepath.Join(dir, "good", "a"), []byte("a"), 0o644))
	eventually(t, "good job replicating", func() bool {
		_, err := os.Stat(filepath.Join(dir, "good-dst", "a"))
		return err == nil
	})
	eventually(t, "a restart of the failed job", func() bool {
		return restartsCounted(t, a, "late") > 0
	})
	must(t, os.MkdirAll(filepath.Join(dir, "late"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "late", "b"), []byte("b"), 0o644))
	eventually(t, "restarted job replicating", func() bool {
		_, err := os.Stat(filepath.Join(dir, "late-dst", "b"))
		return err == nil
	})
	must(t, os.WriteFile(filepath.Join(dir, "good", "c"), []byte("c"), 0o644))
	eventually(t, "good job still replicating", func() bool {
		_, err := os.Stat(filepath.Join(dir, "good-dst", "c"))
		return err == nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

// restartsCounted reads efssync_job_restarts_total for job.
func restartsCounted(t *testing.T, a *Agent, job string) float64 {
	fams, err := a.metrics.Registry().Gather()
	must(t, err)
	for _, f := range fams {
		if f.GetName() != "efssync_job_restarts_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "job" && l.GetValue() == job {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
