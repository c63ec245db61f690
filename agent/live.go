package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/efssync/efssync/agent/plan"
	"github.com/efssync/efssync/agent/policy"

	"github.com/efssync/efssync/agent/walk"

	"golang.org/x/sync/errgroup"

	"github.com/efssync/efssync/agent/watch"
	"github.com/efssync/efssync/manifest"
	"github.com/efssync/efssync/transfer/fsdest"
)

// live is the watch-mode state of one job: the files being followed, and
// per destination the ordering gate with the manifests and deletes that wait for
// it. Every goroutine it starts is owned by the errgroup of runWatch or by
// its WaitGroup, and ends when the job's context does.
type live struct {
	j *jobRun

	mu       sync.Mutex
	inflight map[string]*liveFile
	followWG sync.WaitGroup
	sem      chan struct{}

	gates []*destGate

	// recs keeps the record of each playlist while its destinations
	// publish it one by one, so that each publication adds to it.
	recMu sync.Mutex
	recs  map[string]manifest.Record

	rescanNow  chan struct{}
	rescanning atomic.Bool
	// ctx is the job's context: every follower started from a callback
	// lives under it.
	ctx context.Context
}

// liveFile is a file being followed.
type liveFile struct {
	wake      chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
	closedAt  atomic.Int64 // unix nanos of the writer's close, for the lag metric
	cancel    context.CancelFunc
	// events counts the file's events, so a follower that finishes while
	// a writer was busy again (a rewrite seen after its close) looks again.
	events atomic.Int64
}

func (lf *liveFile) markClosed(at time.Time) {
	lf.closeOnce.Do(func() {
		lf.closedAt.Store(at.UnixNano())
		close(lf.closed)
	})
}

// init readies l for j, whose observer it is.
func (l *live) init(j *jobRun) {
	*l = live{j: j, inflight: map[string]*liveFile{}, sem: make(chan struct{}, j.job.Concurrency),
		recs: map[string]manifest.Record{}, rescanNow: make(chan struct{}, 1)}
	for range j.dests {
		l.gates = append(l.gates, &destGate{kick: make(chan struct{}, 1),
			pending: map[string]pendingPlaylist{}, deletes: map[string]struct{}{}, served: map[string]bool{},
			win: policy.DeleteWindow{Span: deleteWindow}})
	}
}

// playlist implements passObserver: a pass hands playlists to the gates.
func (l *live) playlist(ctx context.Context, rel string) bool {
	l.playlistChanged(ctx, rel)
	return true
}

// ignored leaves the encoder's own temp files alone: with HLS ordering a
// playlist is written as NAME.tmp and renamed, and only the rename counts.
func (l *live) ignored(rel string, isDir bool) bool {
	if l.j.filter.Excluded(rel, isDir) || !isDir && fsdest.IsTempName(path.Base(rel)) {
		return true // a temp-file name is reported as unsupported by the passes
	}
	return !isDir && l.j.order.EncoderTemp(rel)
}

// run is the live loop of a watch-mode job: an initial pass, then
// inotify events, periodic rescans, and a rescan after any lost events.
// ready is called once the initial pass is done.
func (l *live) run(ctx context.Context, ready func()) error {
	j := l.j
	l.ctx = ctx
	w, err := watch.New(j.job.Source, watch.Options{Ignore: l.ignored})
	if err != nil {
		return fmt.Errorf("watch %s: %w", j.job.Source, err)
	}
	stopRecorder := j.startRecorder(ctx)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return w.Run(gctx) })
	for i := range j.dests {
		g.Go(func() error { return l.destLoop(gctx, i) })
	}
	g.Go(func() error {
		w0 := j.walked.Load()
		if err := j.pass(gctx); err != nil && gctx.Err() == nil {
			return err
		}
		l.sweep(gctx, j.walked.Load()-w0)
		ready()
		return l.eventLoop(gctx, w.Events())
	})
	err = g.Wait()
	l.followWG.Wait()
	if rerr := stopRecorder(); err == nil {
		err = rerr
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}

func (l *live) eventLoop(ctx context.Context, events <-chan watch.Event) error {
	every := l.j.job.Rescan.D()
	if every <= 0 {
		every = 10 * time.Minute
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-events:
			if !ok {
				return ctx.Err()
			}
			l.handle(ctx, ev)
		case <-tick.C:
			l.rescan(ctx)
		case <-l.rescanNow:
			l.rescan(ctx)
		}
	}
}

// rescan walks the whole source again in the background; files the live
// loop is busy with are left to it.
func (l *live) rescan(ctx context.Context) {
	if !l.rescanning.CompareAndSwap(false, true) {
		return
	}
	l.followWG.Add(1)
	go func() {
		defer l.followWG.Done()
		defer l.rescanning.Store(false)
		w0 := l.j.walked.Load()
		l.j.reviveDests()
		if err := l.j.pass(ctx); err != nil && ctx.Err() == nil {
			l.j.log.Error("rescan failed", "error", err)
			return
		}
		l.sweep(ctx, l.j.walked.Load()-w0)
	}()
}

// tally implements passObserver: only the initial pass counts and reports
// unchanged files; a rescan reports what it changes.
func (l *live) tally() bool { return !l.rescanning.Load() }

func (l *live) busy(rel string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.inflight[rel]
	return ok
}

func (l *live) handle(ctx context.Context, ev watch.Event) {
	now := time.Now()
	if ev.Op&watch.Overflow != 0 {
		l.j.log.Warn("file events were lost; rescanning")
		select {
		case l.rescanNow <- struct{}{}:
		default:
		}
		return
	}
	if ev.Rel == "" {
		return
	}
	if ev.Op&(watch.Remove|watch.MoveFrom) != 0 {
		l.cancel(ev.Rel)
		l.removed(ev.Rel)
		return
	}
	if ev.From != "" {
		// Renamed within the source: the old name goes (a directory with
		// everything below it).
		l.cancel(ev.From)
		l.removed(ev.From)
	}
	if ev.IsDir {
		if ev.Op&(watch.Create|watch.MoveTo) != 0 {
			l.entry(ctx, ev.Rel)
		}
		return
	}
	if ev.Op&(watch.Create|watch.MoveTo) != 0 && l.entry(ctx, ev.Rel) {
		// A symlink (or another entry that is no regular file), created
		// or renamed over whatever was followed there.
		l.cancel(ev.Rel)
		return
	}
	complete := ev.Op&(watch.CloseWrite|watch.MoveTo) != 0
	if l.j.order.IsManifest(ev.Rel) {
		if complete {
			l.playlistChanged(ctx, ev.Rel)
		}
		return
	}
	if ev.Op&(watch.Create|watch.Write|watch.CloseWrite|watch.MoveTo) == 0 {
		return
	}
	l.mu.Lock()
	lf, ok := l.inflight[ev.Rel]
	if ok && ev.Op&watch.MoveTo != 0 {
		// A new file was renamed over one being followed: start over.
		lf.cancel()
		ok = false
	}
	if !ok {
		var closedAt time.Time
		if complete {
			closedAt = now
		}
		lf = l.startLocked(ctx, ev.Rel, closedAt)
	}
	l.mu.Unlock()
	lf.events.Add(1)
	if complete {
		lf.markClosed(now)
	}
	lf.poke()
}

func (l *live) cancel(rel string) {
	l.mu.Lock()
	if lf, ok := l.inflight[rel]; ok {
		lf.cancel()
		delete(l.inflight, rel)
	}
	l.mu.Unlock()
}

// entry publishes rel when it is a directory or a symlink, through the
// same plan and execution as a pass; it reports false for a regular file
// (the follower's) or a path already gone. A symlink given to the
// follower failed its open with ELOOP, as a source open never follows a
// symlink, and was logged as failed after a rescan had copied it (issue
// 20 #8).
func (l *live) entry(ctx context.Context, rel string) bool {
	abs := filepath.Join(l.j.src, filepath.FromSlash(rel))
	fi, err := os.Lstat(abs)
	if err != nil || fi.Mode().IsRegular() {
		return false
	}
	t := task{e: walk.EntryOf(l.j.src, rel, fi), st: walk.StatOf(fi)}
	rec, known, _ := l.j.a.db.Get(l.j.job.Name, rel)
	t.prev, t.known = rec, known
	t.act = l.j.strat.Plan(t.e, t.st, rec, known, l.j.names)
	switch t.act.Kind {
	case plan.KindMkdir:
		l.j.deliver(l.j.mkdir(ctx, t))
	case plan.KindSymlink:
		l.j.execute(ctx, t)
	}
	return true
}

func (lf *liveFile) poke() {
	select {
	case lf.wake <- struct{}{}:
	default:
	}
}
