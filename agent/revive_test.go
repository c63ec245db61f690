package agent

import (
	"errors"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/efssync/efssync/agent/report"
	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/transfer"
)

// TestWatchRescanRevivesDestinations: a destination a fatal error took
// out of the run is back in after reviveDests (called before every watch
// rescan), and watch jobs get a retry policy whose down mark expires.
func TestWatchRescanRevivesDestinations(t *testing.T) {
	d := &destination{name: "efs"}
	if !d.fail(transfer.Fatal(errors.New("destination efs is down for this run"))) || !d.isDown() {
		t.Fatal("a fatal error did not take the destination out")
	}
	a := &Agent{metrics: report.NewMetrics()}
	j := &jobRun{a: a, job: config.Job{Name: "live"}, dests: []*destination{d}, log: slog.New(slog.DiscardHandler)}
	a.metrics.DestUp("live", "efs", false)
	j.reviveDests()
	if d.isDown() {
		t.Fatal("the destination is still out after reviveDests")
	}
	if v := testutil.ToFloat64(a.metrics.Up("live", "efs")); v != 1 {
		t.Errorf("efssync_destination_up after revival = %v, want 1", v)
	}
	if p := a.revivable(config.Job{Mode: "watch"}, retryPolicy(config.Destination{Type: "fs"})); p.DownFor != watchDownFor {
		t.Errorf("watch job: DownFor %v, want %v", p.DownFor, watchDownFor)
	}
	if p := a.revivable(config.Job{Mode: "once"}, retryPolicy(config.Destination{Type: "fs"})); p.DownFor != 0 {
		t.Errorf("once job: DownFor %v, want 0 (down for the whole run)", p.DownFor)
	}
}
