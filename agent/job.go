package agent

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/efssync/efssync/agent/livefmt"
	"github.com/efssync/efssync/agent/plan"

	"github.com/efssync/efssync/agent/policy"
	"github.com/efssync/efssync/agent/report"
	"github.com/efssync/efssync/agent/walk"

	"golang.org/x/sync/errgroup"

	"github.com/efssync/efssync/agent/send"

	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/manifest"
	"github.com/efssync/efssync/transfer"
)

// destination is one of a job's destinations, wrapped in its decorators, and
// whether a fatal error has taken it out of this run.
type destination struct {
	name string
	d    transfer.Destination
	// hashFirst is d's HashFirster ability, found once, or nil.
	hashFirst transfer.HashFirster
	down      atomic.Pointer[error]
}

// fail takes the destination out of the run on a fatal error, and reports
// whether this call did.
func (d *destination) fail(err error) bool {
	return transfer.IsFatal(err) && d.down.CompareAndSwap(nil, &err)
}

func (d *destination) isDown() bool { return d.down.Load() != nil }

// task is one planned entry on its way to a worker.
type task struct {
	e      walk.Entry
	st     walk.Stat
	act    plan.Action
	prev   manifest.Record
	known  bool
	linkTo string
	// probe, when set, stats the destinations before sending (adoption,
	// check_destination).
	probe probeKind
}

// outcome is what happened to one entry at one destination.
type outcome struct {
	dest   int
	status Status
	err    error
	bytes  int64
}

// result is what a worker hands the recorder for one entry.
type result struct {
	rel    string
	kind   plan.Kind
	rec    manifest.Record
	file   bool // a regular file (what the summary counts as files)
	put    bool // record rec in the manifest
	del    bool // remove the path's record from the manifest
	status Status
	err    error // entry-level error (vanished, changed, source unreadable)
	outs   []outcome
	bytes  int64
	dur    time.Duration
	// reported: counted and reported already (skipped), only seen here.
	reported bool
	// planned: a copy a dry run planned; nothing was read or sent.
	planned bool
	// again: the object's copy was counted with an earlier result (a
	// restore's set-aside destinations, restoreway.go).
	again bool
}

// jobRun is the state of one job during one run.
type jobRun struct {
	a   *Agent
	job config.Job
	// src is the source root with its symlinks resolved: every file and
	// directory below it is opened refusing symlinks (openNoSymlinks).
	src    string
	log    *slog.Logger
	filter *walk.Filter
	dests  []*destination
	names  []string
	// sender moves every file's bytes, in both modes.
	sender  *send.Sender
	rep     *report.Writer
	c       *report.Counters
	strat   plan.Strategy
	results chan result

	// hard links: the first path seen for each multiply-linked inode, and
	// its content hash once known; linkMu also guards deferred, which the
	// checkers append to concurrently.
	linkMu sync.Mutex
	// planScratch holds the per-directory record slices of the plan step,
	// so listing a directory allocates no fresh ones.
	planScratch sync.Pool
	linkFirst   map[[2]uint64]string
	linkHash    map[[2]uint64][32]byte
	deferred    []task

	walked atomic.Int64
	// order holds the job's `order` rules: manifests (HLS playlists, DASH
	// MPDs) go after what they name, at each destination.
	order livefmt.Rules

	// shards filters the plan to this agent's shard; nil when unsharded.
	shards *shardPlan

	// fresh holds the directories this pass found missing at a
	// destination; each pass starts a new one.
	fresh *freshDirs

	// guarded are the directories the walk must never enter.
	guarded walk.Guards

	// obs is how the job's mode takes part in a pass: nothing in once
	// mode, the live loop in watch mode. It is fixed at construction.
	obs passObserver
}

// passObserver is how watch mode takes part in a pass: paths its followers
// own are left to them, manifests (HLS, DASH) go to the ordering gates, and every result is
// seen before it is recorded.
type passObserver interface {
	busy(rel string) bool
	// follows reports whether it took the file e, which the plan would
	// copy, to follow it as a growing file.
	follows(e walk.Entry) bool
	// playlist reports whether it took the playlist rel.
	playlist(ctx context.Context, rel string) bool
	seen(r result)
	// tally reports whether this pass counts the files it walks and
	// reports the unchanged ones: once mode's pass and watch mode's initial
	// pass do, a watch-mode rescan does not (its report would repeat every
	// unchanged file each time, and the summary would count events).
	tally() bool
}

// onceMode is the observer of a once-mode run: it takes nothing.
type onceMode struct{}

func (onceMode) busy(string) bool                      { return false }
func (onceMode) follows(walk.Entry) bool               { return false }
func (onceMode) playlist(context.Context, string) bool { return false }
func (onceMode) seen(result)                           {}
func (onceMode) tally() bool                           { return true }

func (a *Agent) newJobRun(ctx context.Context, job config.Job, rep *report.Writer, c *report.Counters) (*jobRun, error) {
	return a.newJobRunFor(ctx, job, rep, c, onceMode{})
}

// newWatchRun is newJobRun for watch mode: the job run and its live loop.
func (a *Agent) newWatchRun(ctx context.Context, job config.Job, rep *report.Writer, c *report.Counters) (*jobRun, *live, error) {
	l := new(live)
	j, err := a.newJobRunFor(ctx, job, rep, c, l)
	if err != nil {
		return nil, nil, err
	}
	l.init(j)
	return j, l, nil
}

func (a *Agent) newJobRunFor(ctx context.Context, job config.Job, rep *report.Writer, c *report.Counters, obs passObserver) (*jobRun, error) {
	f, err := walk.NewFilter(job.Include, job.Exclude, a.opts.FilterRules...)
	if err != nil {
		return nil, err
	}
	dests, err := a.openDestinations(ctx, job)
	if err != nil {
		return nil, err
	}
	j := &jobRun{
		a: a, job: job, log: a.opts.Log.With("job", job.Name), filter: f, dests: dests,
		rep: rep, c: c, obs: obs, shards: newShardPlan(a.cfg.Shard.Resolved()),
		strat: plan.StatStrategy{Checksum: job.Checksum}, guarded: walk.GuardsOf(a.cfg, job),
		linkFirst: map[[2]uint64]string{}, linkHash: map[[2]uint64][32]byte{},
	}
	if j.order, err = livefmt.New(job.Order); err != nil {
		return nil, fmt.Errorf("job %s: order: %w", job.Name, err)
	}
	sdests := make([]send.Dest, len(dests))
	for i, d := range dests {
		j.names = append(j.names, d.name)
		sdests[i] = send.Dest{Name: d.name, D: j.inPlaceProgress(i, d.d)}
	}
	j.sender = send.New(sdests, j.sendOptions())
	// A source given through a symlink (/srv/media -> /mnt/data/media) is
	// read through its target; a missing source is left as given, for the
	// checks that report it.
	j.src = filepath.Clean(job.Source)
	if real, err := filepath.EvalSymlinks(j.src); err == nil {
		j.src = real
	}
	return j, nil
}

func (a *Agent) runJob(ctx context.Context, job config.Job, rep *report.Writer, c *report.Counters) error {
	if job.From.IsS3() {
		return a.runRestore(ctx, job, rep, c)
	}
	fi, err := os.Stat(job.Source)
	if err != nil {
		return fmt.Errorf("source %s: %w (is it mounted?)", job.Source, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("source %s: not a directory", job.Source)
	}
	j, err := a.newJobRun(ctx, job, rep, c)
	if err != nil {
		return err
	}
	defer j.syncDests(ctx)
	if err := j.cleanupIfCrashed(ctx); err != nil {
		return err
	}
	if err := j.syncOnce(ctx); err != nil {
		return err
	}
	// Every upload of the pass ended in a commit or an abort: nothing is
	// left for a cleanup to find, whatever the delete step does.
	if err := j.markClean(); err != nil {
		return err
	}
	if job.Delete == "mirror" {
		return j.mirrorDelete(ctx)
	}
	return nil
}

// syncOnce walks, plans, copies, publishes and records one pass over the job.
func (j *jobRun) syncOnce(ctx context.Context) error {
	stop := j.startRecorder(ctx)
	err := j.pass(ctx)
	if rerr := stop(); err == nil {
		err = rerr
	}
	return err
}

// startRecorder starts the goroutine that reports and records results; the
// returned function closes the results channel and waits for it.
func (j *jobRun) startRecorder(ctx context.Context) (stop func() error) {
	j.results = make(chan result, 4*j.job.Concurrency)
	done := make(chan error, 1)
	go func() { done <- j.record(ctx) }()
	return func() error {
		close(j.results)
		return <-done
	}
}

// pass runs one walk of the source through plan and execute. Results go to
// the recorder, which must be running.
func (j *jobRun) pass(ctx context.Context) error {
	j.deferred = j.deferred[:0]
	j.fresh = &freshDirs{}
	j.probeRoots(ctx)
	g, gctx := errgroup.WithContext(ctx)
	tasks := make(chan task, 2*j.job.Concurrency)
	g.Go(func() error {
		defer close(tasks)
		err := j.plan(gctx, tasks)
		if err == nil {
			j.c.WalkDone.Store(true) // the totals are final: an ETA means something
		}
		return err
	})
	g.Go(func() error {
		runWorkers(j.job.Concurrency, tasks, func(t task) { j.execute(gctx, t) })
		return nil
	})
	err := g.Wait()
	if err == nil {
		// Second and later names of hard-linked files, now that the first
		// name of each is published; then playlists, after their segments.
		for _, t := range j.deferred {
			if ctx.Err() != nil {
				break
			}
			j.execute(ctx, t)
		}
	}
	return err
}

// execute carries out one task and records its result, then the follow-up
// work planned from that result: archiving removes a source only after the
// copy it depends on was handed to the recorder.
func (j *jobRun) execute(ctx context.Context, t task) {
	r := j.exec(ctx, t)
	j.deliver(r)
	j.followUp(ctx, t, r)
}

// followUp runs the work planned from a copy's result, after that result:
// with after_archive: delete, a file published at every destination is
// verified there once more and its source removed.
func (j *jobRun) followUp(ctx context.Context, t task, r result) {
	if !policy.Archives(j.job) || r.status != StatusCopied || (r.kind != plan.KindCopy && r.kind != plan.KindRehash) {
		return
	}
	switch {
	case r.planned:
		// A dry run's copy: the source would go once the copy verified.
		j.deliver(result{rel: t.e.Rel, kind: plan.KindArchive, status: StatusArchived})
	case r.put && policy.ReleaseSource(t.e.Rel, j.jobDests(), r.rec) == nil:
		j.deliver(j.archive(ctx, t, r.rec))
	}
}

// jobDests names every destination of the job as configured, whether or
// not it is usable in this run: the set a source release is judged on.
func (j *jobRun) jobDests() []string {
	dests := j.job.Destinations
	if c := j.a.opts.Configured; c != nil {
		for _, cj := range c.Jobs {
			if cj.Name == j.job.Name {
				dests = cj.Destinations
			}
		}
	}
	names := make([]string, len(dests))
	for i, d := range dests {
		names[i] = d.Name
	}
	return names
}

// skipped reports an unchanged entry. It bypasses the recorder: there is
// nothing to record, and an unchanged tree is mostly such entries.
func (j *jobRun) skipped(rel string, isFile bool) {
	j.obs.seen(result{rel: rel, kind: plan.KindSkip, status: StatusSkipped, file: isFile})
	if !j.obs.tally() {
		return
	}
	if isFile {
		j.c.Skipped.Add(1)
	}
	j.rep.WriteSkip(j.a.opts.Now(), j.job.Name, rel)
}

// deliver hands a result to the recorder and to whoever else listens for
// publications (the ordering gates in watch mode).
func (j *jobRun) deliver(r result) {
	j.obs.seen(r)
	j.results <- r
}
