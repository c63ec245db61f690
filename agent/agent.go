// Package agent runs efssync jobs: it walks each source, plans against the
// manifest, copies what changed to every destination at once, publishes,
// records, and reports. It owns the rules of a job (filters, delete policy,
// ordering, finish policy); the command line only hands it a Config.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

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
	// WrapDest, when set, wraps every destination before the standard
	// decorators: benchmarks and tests count operations with it.
	WrapDest func(transfer.Destination) transfer.Destination
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Agent runs the jobs of one configuration against one manifest.
type Agent struct {
	cfg  *config.Config
	db   *manifest.DB
	opts Options
	// tmpManifest is removed on Close: a dry run with no manifest yet must
	// not leave one behind.
	tmpManifest string
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
			return nil, fmt.Errorf("--job %s: no such job in the configuration", name)
		}
	}
	a := &Agent{cfg: cfg, opts: opts}
	path := cfg.Manifest
	if opts.DryRun {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			dir, err := os.MkdirTemp("", "efssync-dryrun-")
			if err != nil {
				return nil, fmt.Errorf("dry run: %w", err)
			}
			a.tmpManifest = dir
			path = filepath.Join(dir, "manifest.db")
		}
	}
	db, err := manifest.Open(path)
	if err != nil {
		if a.tmpManifest != "" {
			os.RemoveAll(a.tmpManifest)
		}
		return nil, err
	}
	a.db = db
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

// DB exposes the manifest to the verify and gc commands of the same agent.
func (a *Agent) DB() *manifest.DB { return a.db }

// Summary counts what a run did, for the log and the exit status.
type Summary struct {
	Files, Dirs, Links        int64
	Copied, Skipped, Deleted  int64
	Failed, Changed, Vanished int64
	Bytes                     int64
	// Opened counts source files opened for reading: 0 on an unchanged run.
	Opened     int64
	JobErrors  []error
	Duration   time.Duration
	ReportPath string
}

// OK reports whether everything is in sync: the exit status 0.
func (s *Summary) OK() bool { return s.Failed == 0 && s.Changed == 0 && len(s.JobErrors) == 0 }

type counters struct {
	files, dirs, links                        atomic.Int64
	copied, skipped, deleted, failed, changed atomic.Int64
	vanished, bytes, planned, plannedBytes    atomic.Int64
	opened                                    atomic.Int64
}

func (c *counters) add(s *Summary) {
	s.Files += c.files.Load()
	s.Dirs += c.dirs.Load()
	s.Links += c.links.Load()
	s.Copied += c.copied.Load()
	s.Skipped += c.skipped.Load()
	s.Deleted += c.deleted.Load()
	s.Failed += c.failed.Load()
	s.Changed += c.changed.Load()
	s.Vanished += c.vanished.Load()
	s.Bytes += c.bytes.Load()
	s.Opened += c.opened.Load()
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
	if a.opts.DryRun || a.cfg.ReportDir == "" {
		return ""
	}
	return filepath.Join(a.cfg.ReportDir, "run-"+start.UTC().Format("20060102T150405.000000000Z")+".jsonl")
}

// RunOnce syncs every selected job once. Per-file problems are counted in
// the Summary; the error is for what stops the run as a whole.
func (a *Agent) RunOnce(ctx context.Context) (*Summary, error) {
	start := a.opts.Now()
	sum := &Summary{ReportPath: a.reportPath(start)}
	rep, err := newReporter(sum.ReportPath)
	if err != nil {
		return nil, err
	}
	prog := newProgress(a.opts.Progress)
	for _, job := range a.selected() {
		if err := ctx.Err(); err != nil {
			break
		}
		c := &counters{}
		prog.attach(c)
		if err := a.runJob(ctx, job, rep, c); err != nil {
			a.opts.Log.Error("job failed", "job", job.Name, "error", err)
			sum.JobErrors = append(sum.JobErrors, fmt.Errorf("job %s: %w", job.Name, err))
		}
		prog.detach()
		c.add(sum)
	}
	prog.close()
	sum.Duration = a.opts.Now().Sub(start)
	if err := rep.close(); err != nil {
		return sum, err
	}
	return sum, ctx.Err()
}

// Run runs the selected jobs once. Watch-mode jobs are handled by RunWatch.
func (a *Agent) Run(ctx context.Context) (*Summary, error) {
	return a.RunOnce(ctx)
}
