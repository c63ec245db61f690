package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/efssync/efssync/agent/follow"
	"github.com/efssync/efssync/agent/hls"
	"github.com/efssync/efssync/agent/send"
	"github.com/efssync/efssync/agent/watch"
	"github.com/efssync/efssync/manifest"
	"github.com/efssync/efssync/transfer"
)

// live is the watch-mode state of one job: the files being followed, and
// per destination the HLS gate with the playlists and deletes that wait for
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

func (lf *liveFile) poke() {
	select {
	case lf.wake <- struct{}{}:
	default:
	}
}

// destGate orders publication at one destination.
type destGate struct {
	gate    hls.Gate
	kick    chan struct{}
	mu      sync.Mutex
	pending map[string]pendingPlaylist
	deletes map[string]struct{}
}

type pendingPlaylist struct {
	data []byte
	refs []string
	st   stat
	mode fs.FileMode
	seen time.Time
}

func (g *destGate) poke() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

func newLive(j *jobRun) *live {
	l := &live{j: j, inflight: map[string]*liveFile{}, sem: make(chan struct{}, j.job.Concurrency),
		recs: map[string]manifest.Record{}, rescanNow: make(chan struct{}, 1)}
	for range j.dests {
		l.gates = append(l.gates, &destGate{kick: make(chan struct{}, 1),
			pending: map[string]pendingPlaylist{}, deletes: map[string]struct{}{}})
	}
	return l
}

// ignored leaves the encoder's own temp files alone: with HLS ordering a
// playlist is written as NAME.tmp and renamed, and only the rename counts.
func (l *live) ignored(rel string, isDir bool) bool {
	if l.j.filter.Excluded(rel, isDir) {
		return true
	}
	return !isDir && l.j.hlsOrder && strings.HasSuffix(rel, ".tmp")
}

// runWatch is the live loop of a watch-mode job: an initial pass, then
// inotify events, periodic rescans, and a rescan after any lost events.
// ready is called once the initial pass is done.
func (j *jobRun) runWatch(ctx context.Context, ready func()) error {
	l := newLive(j)
	l.ctx = ctx
	w, err := watch.New(j.job.Source, watch.Options{Ignore: l.ignored})
	if err != nil {
		return fmt.Errorf("watch %s: %w", j.job.Source, err)
	}
	stopRecorder := j.startRecorder(ctx)
	j.skip = l.busy
	j.onResult = l.onResult
	if j.hlsOrder {
		j.playlist = func(rel string) { l.playlistChanged(ctx, rel) }
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return w.Run(gctx) })
	for i := range j.dests {
		g.Go(func() error { return l.destLoop(gctx, i) })
	}
	g.Go(func() error {
		if err := j.pass(gctx); err != nil && gctx.Err() == nil {
			return err
		}
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
		if err := l.j.pass(ctx); err != nil && ctx.Err() == nil {
			l.j.log.Error("rescan failed", "error", err)
		}
	}()
}

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
	if ev.IsDir {
		if ev.Op&(watch.Create|watch.MoveTo) != 0 {
			l.mkdir(ctx, ev.Rel)
		}
		return
	}
	if ev.From != "" {
		l.cancel(ev.From)
		l.removed(ev.From)
	}
	complete := ev.Op&(watch.CloseWrite|watch.MoveTo) != 0
	if l.j.hlsOrder && hls.IsPlaylist(ev.Rel) {
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
		lf = l.startLocked(ctx, ev.Rel)
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

// startLocked starts following rel; l.mu is held.
func (l *live) startLocked(ctx context.Context, rel string) *liveFile {
	fctx, cancel := context.WithCancel(ctx)
	lf := &liveFile{wake: make(chan struct{}, 1), closed: make(chan struct{}), cancel: cancel}
	l.inflight[rel] = lf
	l.j.a.metrics.setQueue(l.j.job.Name, len(l.inflight))
	l.followWG.Add(1)
	go func() {
		defer l.followWG.Done()
		defer cancel()
		defer func() {
			l.mu.Lock()
			if l.inflight[rel] == lf {
				delete(l.inflight, rel)
			}
			l.j.a.metrics.setQueue(l.j.job.Name, len(l.inflight))
			l.mu.Unlock()
		}()
		select {
		case l.sem <- struct{}{}:
		case <-fctx.Done():
			return
		}
		defer func() { <-l.sem }()
		defer func() {
			// A file removed while it was being published may have landed
			// after its delete was carried out: delete it again.
			abs := filepath.Join(l.j.src, filepath.FromSlash(rel))
			if _, err := os.Lstat(abs); errors.Is(err, fs.ErrNotExist) && ctx.Err() == nil {
				l.removed(rel)
			}
		}()
		for fctx.Err() == nil {
			seen := lf.events.Load()
			again, sent := l.follow(fctx, rel, lf)
			if !again && (lf.events.Load() == seen || !l.changedSince(rel, sent)) {
				return
			}
			l.j.log.Info("file truncated, replaced or rewritten while followed; starting over", "path", rel)
		}
	}()
	return lf
}

// follow sends one file as it grows, through the same sender as once mode:
// every chunk goes to each destination as soon as it is read, and the file
// is published once the writer is done and the bytes sent are confirmed
// against the closed file. It reports true when the file must be followed
// again from the start (truncated, replaced, or rewritten after it was read),
// and the stat of the version it published or found unchanged.
func (l *live) follow(ctx context.Context, rel string, lf *liveFile) (again bool, sent stat) {
	j := l.j
	abs := filepath.Join(j.src, filepath.FromSlash(rel))
	start := time.Now()
	f, err := openSource(abs)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			j.deliver(result{rel: rel, kind: KindCopy, status: StatusFailed, err: fmt.Errorf("open %s: %w", abs, err)})
		}
		return false, sent
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false, sent
	}
	t := task{e: entryOf(j.src, rel, fi), st: statOf(fi)}
	sent = t.st
	rec, known, err := j.a.db.Get(j.job.Name, rel)
	if err != nil {
		j.log.Warn("manifest record unreadable; copying again", "path", rel, "error", err)
	}
	t.prev, t.known = rec, known
	if select1(lf.closed) && j.strat.Plan(t.e, t.st, rec, known, j.names).Kind == KindSkip {
		return false, sent // closed without a change since it was recorded
	}
	t.act = Action{Kind: KindCopy, Dests: j.liveDests(j.allDests())}
	fl := follow.New(f, follow.Options{Path: abs, Quiet: j.job.Quiet.D(), Closed: lf.closed, Wake: lf.wake})
	src := &followSource{f: f, fl: fl, abs: abs, start: t.st, finished: j.job.Finished.Quiet.D(), now: time.Now}
	res := j.sender.Send(ctx, send.File{Rel: rel, Meta: j.meta(t), Dests: t.act.Dests, Growing: true}, j.hook(rel, src))
	switch {
	case res.Err == nil:
	case isRewrite(res.Err):
		return true, sent
	case errors.Is(res.Err, follow.ErrRemoved), ctx.Err() != nil:
		return false, sent
	default:
		j.deliver(result{rel: rel, kind: KindCopy, status: StatusFailed, err: res.Err})
		return false, sent
	}
	if after, err := f.Stat(); err == nil {
		t.st = statOf(after)
	}
	outs := j.outcomes(res, nil)
	if at := lf.closedAt.Load(); at != 0 {
		for _, o := range outs {
			if o.err == nil {
				j.a.metrics.lag(j.job.Name, j.names[o.dest], time.Since(time.Unix(0, at)))
			}
		}
	}
	sent = t.st
	rec = baseRecord(t, t.e.Mode)
	rec.Hash = res.Sum
	j.settle(&rec, outs, j.a.opts.Now())
	j.c.files.Add(1)
	r := result{rel: rel, kind: KindCopy, rec: rec, put: true, status: StatusCopied, outs: outs, bytes: res.Size, dur: time.Since(start)}
	j.deliver(r)
	j.followUp(ctx, t, r)
	return false, sent
}

// changedSince reports whether rel no longer is the version sent.
func (l *live) changedSince(rel string, sent stat) bool {
	fi, err := os.Lstat(filepath.Join(l.j.src, filepath.FromSlash(rel)))
	if err != nil || !fi.Mode().IsRegular() {
		return false // gone or not a file: the event handlers deal with it
	}
	now := statOf(fi)
	return now.size != sent.size || !now.mtime.Equal(sent.mtime) || now.ino != sent.ino
}

func select1(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// onResult feeds publications to the HLS gates and sends files that changed
// during a pass to the follower.
func (l *live) onResult(r result) {
	switch {
	case r.status == StatusChanged:
		l.mu.Lock()
		if _, ok := l.inflight[r.rel]; !ok {
			l.startLocked(l.ctx, r.rel)
		}
		l.mu.Unlock()
		return
	case r.status == StatusSkipped && r.err == nil:
		for i, g := range l.gates {
			if !l.j.dests[i].isDown() {
				g.gate.MarkComplete(r.rel)
			}
		}
	}
	for _, o := range r.outs {
		if o.err == nil && o.status != StatusSkipped {
			l.gates[o.dest].gate.MarkComplete(r.rel)
			l.gates[o.dest].poke()
		}
	}
}

// playlistChanged reads a new version of a playlist and queues it at every
// destination, where it is published once everything it lists is there.
func (l *live) playlistChanged(ctx context.Context, rel string) {
	f, err := openSource(filepath.Join(l.j.src, filepath.FromSlash(rel)))
	if err != nil {
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return
	}
	var refs []string
	if pl, err := hls.ParsePlaylist(data); err == nil {
		refs = pl.Refs(rel)
	} else {
		l.j.log.Warn("playlist does not parse; publishing it unordered", "path", rel, "error", err)
	}
	p := pendingPlaylist{data: data, refs: refs, st: statOf(fi), mode: fi.Mode(), seen: time.Now()}
	for i, g := range l.gates {
		if l.j.dests[i].isDown() {
			continue
		}
		g.mu.Lock()
		g.pending[rel] = p
		g.mu.Unlock()
		g.poke()
	}
}

// removed handles a source path that went away.
func (l *live) removed(rel string) {
	l.j.log.Debug("removed", "path", rel)
	if l.j.job.Delete != "mirror" {
		return
	}
	for _, g := range l.gates {
		g.mu.Lock()
		g.deletes[rel] = struct{}{}
		delete(g.pending, rel)
		g.mu.Unlock()
		g.poke()
	}
}

func (l *live) mkdir(ctx context.Context, rel string) {
	abs := filepath.Join(l.j.src, filepath.FromSlash(rel))
	fi, err := os.Lstat(abs)
	if err != nil || !fi.IsDir() {
		return
	}
	t := task{e: entryOf(l.j.src, rel, fi), st: statOf(fi)}
	rec, known, _ := l.j.a.db.Get(l.j.job.Name, rel)
	t.prev, t.known = rec, known
	t.act = l.j.strat.Plan(t.e, t.st, rec, known, l.j.names)
	if t.act.Kind == KindMkdir {
		l.j.deliver(l.j.mkdir(ctx, t))
	}
}

// destLoop publishes ready playlists and safe deletes at one destination,
// in the order the gate allows. It is the only publisher of playlists there.
func (l *live) destLoop(ctx context.Context, i int) error {
	g := l.gates[i]
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-g.kick:
		}
		l.publishReady(ctx, i)
	}
}

func (l *live) publishReady(ctx context.Context, i int) {
	j := l.j
	g := l.gates[i]
	d := j.dests[i]
	g.mu.Lock()
	ready := map[string]pendingPlaylist{}
	for rel, p := range g.pending {
		if len(g.gate.Ready(p.refs)) == 0 {
			ready[rel] = p
			delete(g.pending, rel)
		}
	}
	g.mu.Unlock()
	for rel, p := range ready {
		start := time.Now()
		m := transfer.Meta{Size: int64(len(p.data)), Mode: p.mode, ModTime: p.st.mtime, UID: p.st.uid, GID: p.st.gid}
		res := j.sender.Send(ctx, send.File{Rel: rel, Meta: m, Dests: []int{i}}, &send.Bytes{Data: p.data, ID: identity(p.st)})
		sum := res.Sum
		m.Size = res.Size
		o := outcome{dest: i, status: StatusFailed, err: res.Err, bytes: m.Size}
		if res.Err == nil {
			o = j.outcomes(res, nil)[0]
		}
		if o.err == nil {
			released := g.gate.Published(rel, p.refs)
			g.mu.Lock()
			for _, r := range released {
				if _, ok := g.deletes[r]; ok {
					g.poke()
				}
			}
			g.mu.Unlock()
			j.a.metrics.lag(j.job.Name, d.name, time.Since(p.seen))
		}
		l.recMu.Lock()
		rec, ok := l.recs[rel]
		if !ok || rec.Hash != sum || rec.Size != m.Size {
			rec = manifest.Record{Size: m.Size, ModTime: p.st.mtime, CTime: p.st.ctime, Inode: p.st.ino,
				Dev: p.st.dev, Mode: p.mode, Hash: sum}
		}
		j.settle(&rec, []outcome{o}, j.a.opts.Now())
		cp := rec
		cp.Dests = rec.Dests.Clone()
		l.recs[rel] = rec
		l.recMu.Unlock()
		j.deliver(result{rel: rel, kind: KindCopy, rec: cp, put: true, status: o.status, outs: []outcome{o},
			bytes: m.Size, dur: time.Since(start)})
	}
	// Deletes that no published playlist holds back any more.
	g.mu.Lock()
	var del []string
	for rel := range g.deletes {
		if !g.gate.Referenced(rel) {
			del = append(del, rel)
			delete(g.deletes, rel)
		}
	}
	g.mu.Unlock()
	for _, rel := range del {
		j.log.Debug("delete", "path", rel, "dest", d.name)
		if _, err := os.Lstat(filepath.Join(j.src, filepath.FromSlash(rel))); err == nil {
			continue // it came back
		}
		start := time.Now()
		err := d.d.Remove(ctx, rel)
		g.gate.MarkRemoved(rel)
		st := StatusDeleted
		if err != nil {
			st = StatusFailed
		} else {
			j.c.deleted.Add(1)
		}
		j.deliver(result{rel: rel, kind: KindSkip, del: err == nil, status: st, err: err, dur: time.Since(start)})
	}
}
