package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/efssync/efssync/agent/plan"

	"github.com/efssync/efssync/agent/policy"
	"github.com/efssync/efssync/agent/walk"

	"github.com/efssync/efssync/agent/follow"
	"github.com/efssync/efssync/agent/send"
)

// startLocked starts following rel; l.mu is held. A file whose first
// event already says it is complete (closed after writing, or renamed in)
// is marked closed before the follower looks at it, so it is sent as the
// finished file it is (see follow).
func (l *live) startLocked(ctx context.Context, rel string, closedAt time.Time) *liveFile {
	fctx, cancel := context.WithCancel(ctx)
	lf := &liveFile{wake: make(chan struct{}, 1), closed: make(chan struct{}), cancel: cancel}
	if !closedAt.IsZero() {
		lf.markClosed(closedAt)
	}
	l.inflight[rel] = lf
	l.j.a.metrics.SetQueue(l.j.job.Name, len(l.inflight))
	l.followWG.Add(1)
	go func() {
		defer l.followWG.Done()
		defer cancel()
		defer func() {
			l.mu.Lock()
			if l.inflight[rel] == lf {
				delete(l.inflight, rel)
			}
			l.j.a.metrics.SetQueue(l.j.job.Name, len(l.inflight))
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
			if walk.Lacks(l.j.src, rel) && ctx.Err() == nil {
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
func (l *live) follow(ctx context.Context, rel string, lf *liveFile) (again bool, sent walk.Stat) {
	j := l.j
	abs := filepath.Join(j.src, filepath.FromSlash(rel))
	start := time.Now()
	f, err := walk.Open(abs)
	if err != nil {
		// Gone, or no longer a regular file: ELOOP is a symlink put in
		// its place, which the event that made it publishes (live.entry).
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.ELOOP) {
			j.deliver(result{rel: rel, kind: plan.KindCopy, status: StatusFailed, err: fmt.Errorf("open %s: %w", abs, err)})
		}
		return false, sent
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false, sent
	}
	t := task{e: walk.EntryOf(j.src, rel, fi), st: walk.StatOf(fi)}
	sent = t.st
	rec, known, err := j.a.db.Get(j.job.Name, rel)
	if err != nil {
		j.log.Warn("manifest record unreadable; copying again", "path", rel, "error", err)
	}
	t.prev, t.known = rec, known
	if select1(lf.closed) && j.strat.Plan(t.e, t.st, rec, known, j.names).Kind == plan.KindSkip {
		return false, sent // closed without a change since it was recorded
	}
	t.act = plan.Action{Kind: plan.KindCopy, Dests: j.liveDests(j.allDests())}
	fl := follow.New(f, follow.Options{Path: abs, Quiet: j.job.Quiet.D(), Closed: lf.closed, Wake: lf.wake})
	src := &followSource{f: f, fl: fl, abs: abs, start: t.st, finished: j.job.Finished.Quiet.D(), now: time.Now}
	m := j.meta(t)
	if select1(lf.closed) && j.wantsHashFirst(t.act.Dests, m) {
		// Finished before its upload begins: hashed first, as in once
		// mode, so a multipart object carries its BLAKE3 as metadata.
		if m.Hash, err = hashFirst(ctx, src, m.Size, abs); err != nil {
			if ctx.Err() == nil {
				j.deliver(result{rel: rel, kind: plan.KindCopy, status: StatusFailed, err: err})
			}
			return false, sent
		}
	}
	res := j.sender.Send(ctx, send.File{Rel: rel, Meta: m, Dests: t.act.Dests, Growing: true}, j.hook(rel, src))
	switch {
	case res.Err == nil:
	case isRewrite(res.Err):
		return true, sent
	case errors.Is(res.Err, follow.ErrRemoved), ctx.Err() != nil:
		return false, sent
	default:
		j.deliver(result{rel: rel, kind: plan.KindCopy, status: StatusFailed, err: res.Err})
		return false, sent
	}
	if after, err := f.Stat(); err == nil {
		t.st = walk.StatOf(after)
	}
	outs := j.outcomes(res, nil)
	if at := lf.closedAt.Load(); at != 0 {
		for _, o := range outs {
			if o.err == nil {
				j.a.metrics.Lag(j.job.Name, j.names[o.dest], time.Since(time.Unix(0, at)))
			}
		}
	}
	sent = t.st
	rec = baseRecord(t, t.e.Mode)
	rec.Hash = res.Sum
	j.settle(&rec, outs, j.a.opts.Now())
	if !known {
		j.c.Files.Add(1) // a new file; a rewrite of a known one is not another
	}
	r := result{rel: rel, kind: plan.KindCopy, rec: rec, put: true, status: StatusCopied, outs: outs, bytes: res.Size, dur: time.Since(start)}
	j.deliver(r)
	j.followUp(ctx, t, r)
	return false, sent
}

// follows implements passObserver: a file the pass would copy that
// changed within quiet, has an upload checkpoint made from it (the
// previous run followed it and was stopped or killed), and that a process
// holds open for writing is still being written, so it goes to a follower, which resumes that upload and sends
// only what is new. Copied as a finished file, it was read whole, found
// changed, not published, and then followed from zero: 1.83x the file on
// the wire (issue 20 item 5). A file quiet for longer, or without a
// checkpoint, or closed while the agent was down, is copied (and resumed)
// by the pass as a finished file, so it is not held back for quiet.
func (l *live) follows(e walk.Entry) bool {
	j := l.j
	if e.St.Size < minResumable || j.a.opts.Now().Sub(e.St.Mtime) >= j.job.Quiet.D() ||
		j.order.IsManifest(e.Rel) || !l.checkpointed(e) ||
		!follow.OpenForWriting(e.St.Dev, e.St.Ino) {
		return false
	}
	l.mu.Lock()
	if _, ok := l.inflight[e.Rel]; !ok {
		l.startLocked(l.ctx, e.Rel, time.Time{})
	}
	l.mu.Unlock()
	return true
}

// checkpointed reports whether a destination holds an upload checkpoint
// that the file e, as it stands, can resume.
func (l *live) checkpointed(e walk.Entry) bool {
	for _, name := range l.j.names {
		data, err := l.j.a.db.GetCheckpoint(l.j.job.Name, name, e.Rel)
		if err == nil && data != nil && !send.Stale(data, identity(e.St)) {
			return true
		}
	}
	return false
}

// changedSince reports whether rel no longer is the version sent.
func (l *live) changedSince(rel string, sent walk.Stat) bool {
	fi, err := os.Lstat(filepath.Join(l.j.src, filepath.FromSlash(rel)))
	if err != nil || !fi.Mode().IsRegular() {
		return false // gone or not a file: the event handlers deal with it
	}
	now := walk.StatOf(fi)
	return !policy.SourceUnchanged(policy.FileIdentity(sent, fi.Mode()), policy.FileIdentity(now, fi.Mode()))
}

func select1(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
