// Package agent runs efssync jobs: it walks each source, plans against the
// manifest, copies what changed to every destination at once, publishes,
// records, and reports. It owns the rules of a job (filters, delete policy,
// ordering, finish policy); the command line only hands it a Config.
package agent

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/efssync/efssync/agent/report"
	"github.com/efssync/efssync/agent/walk"

	"github.com/zeebo/blake3"

	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/manifest"
	"github.com/efssync/efssync/transfer"
)

// Options are the per-invocation choices of the command line.
type Options struct {
	// Jobs limits the run to these job names; empty runs every job.
	Jobs []string
	// DryRun plans and prints, and changes nothing: no destination write,
	// no manifest commit.
	DryRun bool
	// PlanOut receives the dry-run plan, one line per action.
	PlanOut io.Writer
	// Log receives progress summaries and per-file failures.
	Log *slog.Logger
	// Progress, when non-nil, receives a live progress display.
	Progress io.Writer
	// ReportPath overrides the report file; empty means a new file in the
	// configured report directory.
	ReportPath string
	// ReportUnchanged lists unchanged entries in the report (-vv);
	// otherwise the report's ended line counts them.
	ReportUnchanged bool
	// Notify receives service-manager states (sd_notify): READY=1,
	// WATCHDOG=1, STOPPING=1.
	Notify func(state string)
	// WatchdogEvery is how often the watch loops prove they are alive.
	WatchdogEvery time.Duration
	// WrapDest, when set, wraps every destination before the standard
	// decorators: benchmarks and tests count operations with it.
	WrapDest func(transfer.Destination) transfer.Destination
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Sources, when set, sees every source file before it is sent (tests).
	Sources SourceHook
	// Configured is the configuration as loaded, before Preflight took
	// out what was unusable at start. A source is released after archiving
	// only once every destination configured for its job holds it, the
	// ones left out of this run included. Nil means the configuration the
	// agent runs with.
	Configured *config.Config
	// Lines, when set, receives every report line as it is written: the
	// command line's -v.
	Lines func(report.Line)
	// Flags are the command-line flags that changed the configuration for
	// this run; the report's first line carries them.
	Flags []string
	// FilterRules (--filter-from) are evaluated before every job's include
	// and exclude lists, first match deciding (walk.Rule).
	FilterRules []walk.Rule
}

// ErrUnknownJob is a --job that names no job of the configuration: a usage
// error, exit status 2.
var ErrUnknownJob = errors.New("no such job in the configuration")

// Agent runs the jobs of one configuration against one manifest.
type Agent struct {
	cfg  *config.Config
	db   *manifest.DB
	opts Options
	// tmpManifest is removed on Close: a dry run with no manifest yet must
	// not leave one behind.
	tmpManifest string
	metrics     *report.Metrics
	// fx is what the run changes besides its destinations (dry or real).
	fx effects
	// tag names this agent (host and manifest) in its temp files, so its
	// cleanup never touches another agent's files in flight.
	tag string
}

// New opens the manifest exclusively. It fails at once if another agent
// holds it.
func New(cfg *config.Config, opts Options) (*Agent, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PlanOut == nil {
		opts.PlanOut = io.Discard
	}
	for _, name := range opts.Jobs {
		if !slices.ContainsFunc(cfg.Jobs, func(j config.Job) bool { return j.Name == name }) {
			return nil, fmt.Errorf("--job %s: %w", name, ErrUnknownJob)
		}
	}
	a := &Agent{cfg: cfg, opts: opts, metrics: report.NewMetrics(), fx: newEffects(opts)}
	path, scratch, err := a.fx.manifest(cfg.Manifest)
	if err != nil {
		return nil, err
	}
	a.tmpManifest = scratch
	db, err := manifest.Open(path)
	if err != nil {
		if a.tmpManifest != "" {
			os.RemoveAll(a.tmpManifest)
		}
		return nil, damagedHint(path, err)
	}
	a.db = db
	// A new manifest's directory entry (and its state directory's) must
	// be durable before anything is recorded in it.
	for _, dir := range []string{filepath.Dir(path), filepath.Dir(filepath.Dir(path))} {
		if err := syncDir(dir); err != nil {
			a.Close()
			return nil, fmt.Errorf("manifest %s: %w", path, err)
		}
	}
	host, _ := os.Hostname()
	abs, _ := filepath.Abs(cfg.Manifest)
	sum := blake3.Sum256([]byte(host + "\x00" + abs))
	a.tag = hex.EncodeToString(sum[:4])
	return a, nil
}

// Close releases the manifest.
func (a *Agent) Close() error {
	err := a.db.Close()
	if a.tmpManifest != "" {
		os.RemoveAll(a.tmpManifest)
	}
	return err
}

func (a *Agent) selected() []config.Job {
	var jobs []config.Job
	for _, j := range a.cfg.Jobs {
		if len(a.opts.Jobs) == 0 || slices.Contains(a.opts.Jobs, j.Name) {
			jobs = append(jobs, j)
		}
	}
	return jobs
}

// reportPath names this run's report file.
func (a *Agent) reportPath(start time.Time) string {
	if a.opts.ReportPath != "" {
		return a.opts.ReportPath
	}
	if !a.fx.reports() || a.cfg.ReportDir == "" {
		return ""
	}
	return filepath.Join(a.cfg.ReportDir, "run-"+start.UTC().Format("20060102T150405.000000000Z")+".jsonl")
}

// runJobs syncs jobs once each. Per-file problems are counted in the
// Summary; the error is for what stops the run as a whole.
func (a *Agent) runJobs(ctx context.Context, jobs []config.Job) (*Summary, error) {
	start := a.opts.Now()
	sum := &Summary{ReportPath: a.reportPath(start)}
	rep, err := report.OpenRotating(sum.ReportPath, a.reportRotation(), start, a.opts.Flags...)
	if err != nil {
		return nil, err
	}
	a.startReport(rep, start)
	// A signal flushes the report at once: a SIGKILL may follow it.
	defer context.AfterFunc(ctx, rep.Flush)()
	rep.ListUnchanged(a.opts.ReportUnchanged)
	prog := report.NewProgress(a.opts.Progress)
	for _, job := range jobs {
		if err := ctx.Err(); err != nil {
			break
		}
		c := &report.Counters{}
		prog.Attach(job.Name, c)
		// A job ended by the run's own interrupt has not failed: the files
		// it cut short are reported as interrupted, and the run says so once.
		if err := a.runJob(ctx, job, rep, c); err != nil && (ctx.Err() == nil || !errors.Is(err, ctx.Err())) {
			a.opts.Log.Error("job failed", "job", job.Name, "error", err)
			sum.JobErrors = append(sum.JobErrors, fmt.Errorf("job %s: %w", job.Name, err))
		}
		prog.Detach()
		c.AddTo(sum)
	}
	prog.Close()
	sum.Duration = a.opts.Now().Sub(start)
	report.MarkInterrupted(ctx, sum, rep, a.opts.Now())
	if err := rep.Close(); err != nil {
		return sum, err
	}
	return sum, ctx.Err()
}

// Run runs the selected jobs: once-mode jobs one pass each, watch-mode jobs
// until ctx ends. With watch-mode jobs it calls Notify("READY=1") once every
// initial pass is done, and Notify("WATCHDOG=1") while the loops are alive.
func (a *Agent) Run(ctx context.Context) (*Summary, error) {
	if err := a.checkOverlaps(); err != nil {
		return nil, err
	}
	var once, watchJobs []config.Job
	for _, j := range a.selected() {
		if j.Mode == "watch" {
			watchJobs = append(watchJobs, j)
		} else {
			once = append(once, j)
		}
	}
	mctx, stopMetrics := context.WithCancel(ctx)
	metricsDone := make(chan error, 1)
	if a.cfg.Metrics.Listen != "" {
		go func() { metricsDone <- a.metrics.Serve(mctx, a.cfg.Metrics.Listen) }()
	} else {
		metricsDone <- nil
	}
	defer func() {
		stopMetrics()
		if err := <-metricsDone; err != nil {
			a.opts.Log.Error("metrics endpoint failed", "error", err)
		}
	}()
	if len(watchJobs) == 0 {
		return a.runJobs(ctx, once)
	}
	start := a.opts.Now()
	sum := &Summary{ReportPath: a.reportPath(start)}
	rep, err := report.OpenRotating(sum.ReportPath, a.reportRotation(), start, a.opts.Flags...)
	if err != nil {
		return nil, err
	}
	a.startReport(rep, start)
	// A signal flushes the report at once: a SIGKILL may follow it.
	defer context.AfterFunc(ctx, rep.Flush)()
	rep.ListUnchanged(a.opts.ReportUnchanged)
	if len(once) > 0 {
		osum, err := a.runJobs(ctx, once)
		if err != nil {
			return osum, err
		}
		*sum = *osum
	}
	cs := a.superviseWatch(ctx, watchJobs, rep)
	a.notify("STOPPING=1")
	a.notify("STOPPING=1")
	for _, c := range cs {
		c.AddTo(sum)
	}
	sum.Duration = a.opts.Now().Sub(start)
	return sum, rep.Close()
}

func (a *Agent) notify(state string) {
	if a.opts.Notify != nil {
		a.opts.Notify(state)
	}
}

// startReport connects the report to the -v echo and, when command-line
// flags changed the configuration for this run, writes them on its first
// line, so a report says under which overrides its files moved.
func (a *Agent) startReport(rep *report.Writer, start time.Time) {
	rep.SetEcho(a.opts.Lines)
}
