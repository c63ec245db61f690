package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/efssync/efssync/agent/hls"
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
	down atomic.Pointer[error]
}

// fail takes the destination out of the run on a fatal error, and reports
// whether this call did.
func (d *destination) fail(err error) bool {
	return transfer.IsFatal(err) && d.down.CompareAndSwap(nil, &err)
}

func (d *destination) isDown() bool { return d.down.Load() != nil }

// task is one planned entry on its way to a worker.
type task struct {
	e      Entry
	st     stat
	act    Action
	prev   manifest.Record
	known  bool
	linkTo string
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
	kind   Kind
	rec    manifest.Record
	file   bool // a regular file (what the summary counts as files)
	put    bool // record rec in the manifest
	del    bool // remove the path's record from the manifest
	status Status
	err    error // entry-level error (vanished, changed, source unreadable)
	outs   []outcome
	bytes  int64
	dur    time.Duration
}

// jobRun is the state of one job during one run.
type jobRun struct {
	a   *Agent
	job config.Job
	// src is the source root with its symlinks resolved: every file and
	// directory below it is opened refusing symlinks (openNoSymlinks).
	src    string
	log    *slog.Logger
	filter *Filter
	dests  []*destination
	names  []string
	// sender moves every file's bytes, in both modes.
	sender  *send.Sender
	rep     *reporter
	c       *counters
	strat   Strategy
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
	// hlsOrder is set by `order: [hls]`: playlists go after their segments.
	hlsOrder bool

	// skip, in watch mode, keeps a pass away from paths the live loop is
	// working on; playlist hands playlists to the HLS gates instead of
	// copying them; onResult sees every result before it is recorded.
	skip     func(rel string) bool
	playlist func(rel string)
	onResult func(r result)
}

func (a *Agent) newJobRun(ctx context.Context, job config.Job, rep *reporter, c *counters) (*jobRun, error) {
	f, err := NewFilter(job.Include, job.Exclude)
	if err != nil {
		return nil, err
	}
	dests, err := a.openDestinations(ctx, job)
	if err != nil {
		return nil, err
	}
	j := &jobRun{
		a: a, job: job, log: a.opts.Log.With("job", job.Name), filter: f, dests: dests,
		rep: rep, c: c,
		strat:     statStrategy{checksum: job.Checksum},
		linkFirst: map[[2]uint64]string{}, linkHash: map[[2]uint64][32]byte{},
	}
	sdests := make([]send.Dest, len(dests))
	for i, d := range dests {
		j.names = append(j.names, d.name)
		sdests[i] = send.Dest{Name: d.name, D: d.d}
	}
	j.sender = send.New(sdests, j.sendOptions())
	j.hlsOrder = slices.Contains(job.Order, "hls")
	// A source given through a symlink (/srv/media -> /mnt/data/media) is
	// read through its target; a missing source is left as given, for the
	// checks that report it.
	j.src = filepath.Clean(job.Source)
	if real, err := filepath.EvalSymlinks(j.src); err == nil {
		j.src = real
	}
	return j, nil
}

func (a *Agent) runJob(ctx context.Context, job config.Job, rep *reporter, c *counters) error {
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
	g, gctx := errgroup.WithContext(ctx)
	tasks := make(chan task, 2*j.job.Concurrency)
	g.Go(func() error {
		defer close(tasks)
		return j.plan(gctx, tasks)
	})
	for range j.job.Concurrency {
		g.Go(func() error {
			for t := range tasks {
				j.execute(gctx, t)
			}
			return nil
		})
	}
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
	if j.job.AfterArchive == "delete" && r.status == StatusCopied && r.put && len(r.rec.Dests) == len(j.dests) &&
		(r.kind == KindCopy || r.kind == KindRehash) {
		j.deliver(j.archive(ctx, t, r.rec.Hash))
	}
}

// allDests is the index of every destination of the job.
func (j *jobRun) allDests() []int {
	all := make([]int, len(j.dests))
	for i := range all {
		all[i] = i
	}
	return all
}

// skipped reports an unchanged entry. It bypasses the recorder: there is
// nothing to record, and an unchanged tree is mostly such entries.
func (j *jobRun) skipped(rel string, isFile bool) {
	if isFile {
		j.c.skipped.Add(1)
	}
	if j.onResult != nil {
		j.onResult(result{rel: rel, kind: KindSkip, status: StatusSkipped, file: isFile})
	}
	j.rep.writeSkip(j.a.opts.Now(), j.job.Name, rel)
}

// deliver hands a result to the recorder and to whoever else listens for
// publications (the HLS gates in watch mode).
func (j *jobRun) deliver(r result) {
	if j.onResult != nil {
		j.onResult(r)
	}
	j.results <- r
}

// planScratch is one directory's worth of looked-up records.
type planScratch struct {
	recs  []manifest.Record
	known []bool
}

// plan streams the walk through the strategy and hands work to the workers.
// Directories are created here, in walk order, so parents precede children.
func (j *jobRun) plan(ctx context.Context, tasks chan<- task) error {
	return walkDirs(ctx, j.src, j.filter, j.job.Checkers, func(entries []Entry) error {
		// One read transaction for the directory's records, closed before
		// any send below can block on a worker.
		scratch, _ := j.planScratch.Get().(*planScratch)
		if scratch == nil {
			scratch = &planScratch{}
		}
		defer j.planScratch.Put(scratch)
		recs := slices.Grow(scratch.recs[:0], len(entries))[:len(entries)]
		known := slices.Grow(scratch.known[:0], len(entries))[:len(entries)]
		defer func() { clear(recs); scratch.recs, scratch.known = recs, known }()
		err := j.a.db.View(j.job.Name, func(r *manifest.Reader) error {
			for i, e := range entries {
				var err error
				recs[i], known[i], err = r.Get(e.Rel)
				if err != nil {
					j.log.Warn("manifest record unreadable; copying again", "path", e.Rel, "error", err)
					known[i] = false
				}
			}
			return nil
		})
		if err != nil {
			j.log.Warn("manifest unreadable; copying again", "error", err)
		}
		for i, e := range entries {
			if err := j.planEntry(ctx, e, recs[i], known[i], tasks); err != nil {
				return err
			}
		}
		return nil
	}, func(rel string, err error) {
		j.deliver(result{rel: rel, status: StatusFailed, err: err})
	})
}

func (j *jobRun) planEntry(ctx context.Context, e Entry, rec manifest.Record, known bool, tasks chan<- task) error {
	j.walked.Add(1)
	if j.skip != nil && j.skip(e.Rel) {
		return nil
	}
	st := e.st
	act := j.strat.Plan(e, st, rec, known, j.names)
	act.Dests = j.liveDests(act.Dests)
	t := task{e: e, st: st, act: act, prev: rec, known: known}
	isFile := e.Mode.IsRegular()
	if isFile {
		j.c.files.Add(1)
	}
	if isFile && st.nlink > 1 {
		key := [2]uint64{st.dev, st.ino}
		j.linkMu.Lock()
		first, seen := j.linkFirst[key]
		if !seen {
			j.linkFirst[key] = e.Rel
			if act.Kind == KindSkip {
				j.linkHash[key] = rec.Hash
			}
		}
		if seen && act.Kind != KindSkip && len(act.Dests) > 0 {
			t.act.Kind, t.linkTo = KindLink, first
			j.deferred = append(j.deferred, t)
			j.linkMu.Unlock()
			return nil
		}
		j.linkMu.Unlock()
	}
	if j.hlsOrder && act.Kind == KindCopy && hls.IsPlaylist(e.Rel) {
		if j.playlist != nil {
			j.playlist(e.Rel)
		} else {
			j.linkMu.Lock()
			j.deferred = append(j.deferred, t)
			j.linkMu.Unlock()
		}
		return nil
	}
	if isFile && act.Kind != KindSkip && j.unfinished(st) {
		j.deliver(result{rel: e.Rel, kind: act.Kind, status: StatusUnfinished})
		return nil
	}
	if isFile && act.Kind == KindSkip && j.job.AfterArchive == "delete" {
		t.act = Action{Kind: KindArchive}
		act = t.act
	}
	switch {
	case act.Kind == KindSkip || len(act.Dests) == 0 && act.Kind != KindArchive:
		j.skipped(e.Rel, isFile)
		return nil
	case act.Kind == KindMkdir:
		j.c.dirs.Add(1)
		j.deliver(j.mkdir(ctx, t))
		return nil
	}
	if isFile {
		j.c.plannedBytes.Add(st.size)
	}
	j.a.fx.planned(j.c)
	select {
	case tasks <- t:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (j *jobRun) liveDests(idx []int) []int {
	out := idx[:0:0]
	for _, i := range idx {
		if !j.dests[i].isDown() {
			out = append(out, i)
		}
	}
	return out
}

// exec carries out one task at its destinations.
func (j *jobRun) exec(ctx context.Context, t task) result {
	start := time.Now()
	var r result
	switch t.act.Kind {
	case KindCopy:
		r = j.copyFile(ctx, t)
	case KindRehash:
		r = j.rehash(ctx, t)
	case KindSymlink:
		r = j.symlink(ctx, t)
	case KindLink:
		r = j.link(ctx, t)
	case KindArchive:
		r = j.archive(ctx, t, t.prev.Hash)
	default:
		r = result{rel: t.e.Rel, status: StatusSkipped}
	}
	r.kind = t.act.Kind
	r.dur = time.Since(start)
	return r
}

// baseRecord is the manifest record for what the walk saw, keeping the
// publications of destinations that were not touched.
func baseRecord(t task, mode fs.FileMode) manifest.Record {
	rec := manifest.Record{Size: t.st.size, ModTime: t.st.mtime, CTime: t.st.ctime,
		Inode: t.st.ino, Dev: t.st.dev, Mode: mode, Dests: t.prev.Dests.Clone()}
	return rec
}

func (j *jobRun) meta(t task) transfer.Meta {
	return transfer.Meta{Size: t.st.size, Mode: t.e.Mode, ModTime: t.st.mtime, UID: t.st.uid, GID: t.st.gid}
}

// settle applies per-destination outcomes to rec: success publishes, failure
// forgets, so the next run retries exactly the destinations that need it.
func (j *jobRun) settle(rec *manifest.Record, outs []outcome, now time.Time) {
	for _, o := range outs {
		name := j.names[o.dest]
		if o.err != nil {
			rec.Dests.Delete(name)
			if j.dests[o.dest].fail(o.err) {
				j.log.Error("destination taken out of this run", "dest", name, "error", o.err)
			}
			continue
		}
		rec.Dests.Set(name, manifest.Published{Size: rec.Size, ModTime: rec.ModTime, Hash: rec.Hash, At: now})
	}
}

func (j *jobRun) mkdir(ctx context.Context, t task) result {
	rec := baseRecord(t, t.e.Mode)
	m := j.meta(t)
	var outs []outcome
	for _, i := range t.act.Dests {
		o := outcome{dest: i, status: StatusMkdir}
		if dm, ok := transfer.As[transfer.DirMaker](j.dests[i].d); ok {
			if err := dm.Mkdir(ctx, t.e.Rel, m); err != nil {
				o.status, o.err = StatusFailed, err
			}
		}
		outs = append(outs, o)
	}
	j.settle(&rec, outs, j.a.opts.Now())
	return result{rel: t.e.Rel, kind: KindMkdir, rec: rec, put: true, status: StatusMkdir, outs: outs}
}

func (j *jobRun) symlink(ctx context.Context, t task) result {
	target, err := os.Readlink(t.e.Abs())
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return result{rel: t.e.Rel, status: StatusVanished}
		}
		return result{rel: t.e.Rel, status: StatusFailed, err: fmt.Errorf("read symlink %s: %w", t.e.Abs(), err)}
	}
	rec := baseRecord(t, t.e.Mode)
	rec.LinkTarget = target
	m := j.meta(t)
	var outs []outcome
	for _, i := range t.act.Dests {
		o := outcome{dest: i, status: StatusSymlinked}
		if sl, ok := transfer.As[transfer.Symlinker](j.dests[i].d); ok {
			if err := sl.Symlink(ctx, t.e.Rel, target, m); err != nil {
				o.status, o.err = StatusFailed, err
			}
		} else {
			o.status = StatusSkipped
			o.err = nil
			outs = append(outs, o)
			j.log.Debug("destination keeps no symlinks; skipped", "path", t.e.Rel, "dest", j.names[i])
			continue
		}
		outs = append(outs, o)
	}
	j.settle(&rec, outs, j.a.opts.Now())
	return result{rel: t.e.Rel, rec: rec, put: true, status: StatusSymlinked, outs: outs}
}

// link publishes a second name of a hard-linked file as a hard link where
// the destination can, and as a copy where it cannot.
func (j *jobRun) link(ctx context.Context, t task) result {
	key := [2]uint64{t.st.dev, t.st.ino}
	j.linkMu.Lock()
	h, ok := j.linkHash[key]
	j.linkMu.Unlock()
	var copyTo []int
	rec := baseRecord(t, t.e.Mode)
	rec.Hash = h
	var outs []outcome
	for _, i := range t.act.Dests {
		ln, can := transfer.As[transfer.Linker](j.dests[i].d)
		if !ok || !can {
			copyTo = append(copyTo, i)
			continue
		}
		o := outcome{dest: i, status: StatusLinked}
		if err := ln.Link(ctx, t.linkTo, t.e.Rel); err != nil {
			o.status, o.err = StatusFailed, err
		}
		outs = append(outs, o)
	}
	if len(copyTo) > 0 {
		t2 := t
		t2.act = Action{Kind: KindCopy, Dests: copyTo}
		r := j.copyFile(ctx, t2)
		if r.status != StatusCopied {
			return r
		}
		rec = r.rec
		outs = append(outs, r.outs...)
		j.settle(&rec, outs, j.a.opts.Now())
		return result{rel: t.e.Rel, rec: rec, put: true, status: StatusLinked, outs: outs, bytes: r.bytes}
	}
	j.c.links.Add(1)
	j.settle(&rec, outs, j.a.opts.Now())
	return result{rel: t.e.Rel, rec: rec, put: true, status: StatusLinked, outs: outs}
}
