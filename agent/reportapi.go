package agent

import (
	"slices"
	"time"

	"github.com/efssync/efssync/agent/report"
)

// The report vocabulary lives in agent/report; these names keep the API the
// command line was written against.
type (
	// Status is the outcome of one entry at one destination.
	Status = report.Status
	// Line is one line of the JSON-lines run report.
	Line = report.Line
	// Summary counts what a run did.
	Summary = report.Summary
	// ProgressStats is one snapshot of a running job.
	ProgressStats = report.ProgressStats
	// ProgressSink receives progress snapshots instead of a terminal line.
	ProgressSink = report.ProgressSink
	// ReportRetention bounds the report directory.
	ReportRetention = report.Retention
	// ReportRotation starts a new report file when one is too large or old.
	ReportRotation = report.Rotation
)

// The report's outcomes, under the names the command line uses.
const (
	StatusCopied      = report.StatusCopied
	StatusLinked      = report.StatusLinked
	StatusSymlinked   = report.StatusSymlinked
	StatusMkdir       = report.StatusMkdir
	StatusDeleted     = report.StatusDeleted
	StatusSkipped     = report.StatusSkipped
	StatusFailed      = report.StatusFailed
	StatusVanished    = report.StatusVanished
	StatusChanged     = report.StatusChanged
	StatusPlanned     = report.StatusPlanned
	StatusUnfinished  = report.StatusUnfinished
	StatusArchived    = report.StatusArchived
	StatusAdopted     = report.StatusAdopted
	StatusPending     = report.StatusPending
	StatusUnsupported = report.StatusUnsupported
	StatusInterrupted = report.StatusInterrupted
	StatusStarted     = report.StatusStarted
	// StdoutReport is the report path ("--report -") that writes to stdout.
	StdoutReport = report.Stdout
)

// PruneReports removes the run reports of dir that r no longer keeps.
func PruneReports(dir string, r ReportRetention, now time.Time) ([]string, error) {
	return report.Prune(dir, r, now)
}

// reportRotation is the configuration's reports section as a rotation
// policy.
func (a *Agent) reportRotation() report.Rotation {
	r := a.cfg.Reports
	return report.Rotation{
		MaxSize:   int64(r.MaxSize),
		MaxAge:    time.Duration(r.MaxAge),
		Retention: report.Retention{Keep: r.Keep, MaxAge: time.Duration(r.Retention)},
	}
}

// PrepareMetrics makes every per-job and per-destination series exist at 0,
// so alerts on rate() and absent() work from the first scrape, and binds
// the metrics.listen endpoint now: a port in use is an error at start that
// names metrics.listen. Run serves on the bound listener.
func (a *Agent) PrepareMetrics() error {
	for _, j := range a.selected() {
		names := make([]string, len(j.Destinations))
		for i, d := range j.Destinations {
			names[i] = d.Name
		}
		a.metrics.Declare(j.Name, names)
	}
	a.declareDropped()
	return a.metrics.Bind(a.cfg.Metrics.Listen)
}

// declareDropped shows the destinations Preflight left out of this run
// (Options.Configured holds them) as down, with their other series at 0.
func (a *Agent) declareDropped() {
	c := a.opts.Configured
	if c == nil {
		return
	}
	inRun := map[[2]string]bool{}
	for _, j := range a.selected() {
		for _, d := range j.Destinations {
			inRun[[2]string{j.Name, d.Name}] = true
		}
	}
	for _, j := range c.Jobs {
		if len(a.opts.Jobs) > 0 && !slices.Contains(a.opts.Jobs, j.Name) {
			continue
		}
		for _, d := range j.Destinations {
			if !inRun[[2]string{j.Name, d.Name}] {
				a.metrics.Declare(j.Name, []string{d.Name})
				a.metrics.DestUp(j.Name, d.Name, false)
			}
		}
	}
}
