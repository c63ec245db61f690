package agent

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"sync"
	"time"

	"github.com/efssync/efssync/agent/livefmt"
	"github.com/efssync/efssync/agent/liveorder"
	"github.com/efssync/efssync/agent/plan"
	"github.com/efssync/efssync/agent/policy"
	"github.com/efssync/efssync/agent/send"
	"github.com/efssync/efssync/agent/walk"
	"github.com/efssync/efssync/manifest"
	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/fsdest"
)

// destGate orders publication at one destination.
type destGate struct {
	gate    liveorder.Gate
	kick    chan struct{}
	mu      sync.Mutex
	pending map[string]pendingPlaylist
	deletes map[string]struct{}
	// served holds the playlists whose version served at the destination
	// the gate knows: seeded from the destination, or published in this
	// run (true). See seedServed.
	served map[string]bool
	// win counts what the destination deleted and published lately, for
	// the delete guard.
	win policy.DeleteWindow
}

type pendingPlaylist struct {
	data []byte
	refs []liveorder.Ref
	st   walk.Stat
	mode fs.FileMode
	seen time.Time
}

// seen feeds publications to the ordering gates and sends files that changed
// during a pass to the follower.
func (l *live) seen(r result) {
	switch {
	case r.status == StatusChanged:
		l.mu.Lock()
		if _, ok := l.inflight[r.rel]; !ok {
			l.startLocked(l.ctx, r.rel, time.Time{})
		}
		l.mu.Unlock()
		return
	case r.status == StatusSkipped && r.err == nil:
		if l.j.order.IsManifest(r.rel) {
			l.seedServed(l.ctx, r.rel)
		}
		for i, g := range l.gates {
			if !l.j.dests[i].isDown() {
				g.gate.MarkComplete(r.rel)
			}
		}
	}
	for _, o := range r.outs {
		if o.err == nil && o.status != StatusSkipped {
			l.gates[o.dest].win.Published(l.j.a.opts.Now(), 1)
			l.gates[o.dest].gate.MarkComplete(r.rel)
			l.gates[o.dest].poke()
		}
	}
}

// playlistChanged reads a new version of a playlist and queues it at every
// destination, where it is published once everything it lists is there.
func (l *live) playlistChanged(ctx context.Context, rel string) {
	f, err := walk.Open(filepath.Join(l.j.src, filepath.FromSlash(rel)))
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
	refs, err := l.j.order.Needs(rel, data, time.Now())
	if err != nil {
		l.j.log.Warn("manifest does not parse; publishing it unordered", "path", rel, "error", err)
	}
	p := pendingPlaylist{data: data, refs: refs, st: walk.StatOf(fi), mode: fi.Mode(), seen: time.Now()}
	l.seedServed(ctx, rel)
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
		if len(g.gate.Missing(p.refs)) == 0 {
			ready[rel] = p
			delete(g.pending, rel)
		}
	}
	g.mu.Unlock()
	// The segments a playlist lists were renamed into place, but their
	// directory entries are durable only after the destination's Sync. A
	// power cut must never leave a durable playlist whose segments were
	// lost, so the segments are made durable before the playlist goes out.
	if err := syncBefore(ctx, d.d, len(ready)); err != nil {
		j.log.Warn("playlist held back: its segments could not be made durable", "dest", d.name, "error", err)
		g.mu.Lock()
		for rel, p := range ready {
			if _, newer := g.pending[rel]; !newer {
				g.pending[rel] = p
			}
		}
		g.mu.Unlock()
		ready = nil // the deletes below still go
	}
	for rel, p := range ready {
		start := time.Now()
		m := policy.Meta(p.st, p.mode)
		m.Size = int64(len(p.data))
		res := j.sender.Send(ctx, send.File{Rel: rel, Meta: m, Dests: []int{i}}, &send.Bytes{Data: p.data, ID: identity(p.st)})
		sum := res.Sum
		m.Size = res.Size
		o := outcome{dest: i, status: StatusFailed, err: res.Err, bytes: m.Size}
		if res.Err == nil {
			o = j.outcomes(res, nil)[0]
		}
		if o.err == nil {
			g.mu.Lock()
			g.served[rel] = true
			released := g.gate.Published(rel, p.refs)
			for _, r := range released {
				if _, ok := g.deletes[r]; ok {
					g.poke()
				}
			}
			g.mu.Unlock()
			j.a.metrics.Lag(j.job.Name, d.name, time.Since(p.seen))
		}
		l.recMu.Lock()
		rec, ok := l.recs[rel]
		if !ok || rec.Hash != sum || rec.Size != m.Size {
			rec = manifest.Record{Size: m.Size, ModTime: p.st.Mtime, CTime: p.st.Ctime, Inode: p.st.Ino,
				Dev: p.st.Dev, Mode: p.mode, Hash: sum}
		}
		j.settle(&rec, []outcome{o}, j.a.opts.Now())
		cp := rec
		cp.Dests = rec.Dests.Clone()
		l.recs[rel] = rec
		l.recMu.Unlock()
		j.deliver(result{rel: rel, kind: plan.KindCopy, rec: cp, put: true, status: o.status, outs: []outcome{o},
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
		if !walk.Lacks(j.src, rel) {
			continue // it came back
		}
		start := time.Now()
		err := j.removeAt(ctx, d, rel, &g.win)
		if errors.Is(err, errTreeNotRecorded) {
			// Asked again once the recorder's next batch has landed.
			g.mu.Lock()
			g.deletes[rel] = struct{}{}
			g.mu.Unlock()
			time.AfterFunc(batchEvery, g.poke)
			continue
		}
		if errors.Is(err, ErrDeleteRefused) {
			// Left at the destination for the next rescan's sweep, which
			// asks the guard again, or for the operator: logged once per
			// episode, not once per event of an rm -rf.
			if g.win.Refused() {
				j.log.Error("watch delete refused; later refusals are not logged until the rolling window is empty",
					"path", rel, "dest", d.name, "error", err)
			}
			continue
		}
		g.gate.MarkRemoved(rel)
		st := StatusDeleted
		if err != nil {
			st = StatusFailed
		} else {
			j.c.Deleted.Add(1)
		}
		j.deliver(result{rel: rel, kind: plan.KindSkip, del: err == nil, status: st, err: err, dur: time.Since(start)})
	}
}

func (g *destGate) poke() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// syncBefore makes what d published so far durable, where d can, before
// n playlists are published (nothing to do for none).
func syncBefore(ctx context.Context, d transfer.Destination, n int) error {
	if n == 0 {
		return nil
	}
	return syncDest(ctx, d)
}

// seedServed tells each destination's gate, once per run, which segments
// the version of playlist rel served there now lists. A restarted agent
// starts with empty gates while a destination still serves the playlist
// an earlier run published; without the seed, the segments the source
// removed meanwhile would be deleted there at once (by the sweep after the
// initial pass, or on their events), before a newer playlist replaced the
// one that lists them, and players would fetch segments that 404.
func (l *live) seedServed(ctx context.Context, rel string) {
	for i, g := range l.gates {
		g.mu.Lock()
		_, known := g.served[rel]
		if !known {
			g.served[rel] = false
		}
		g.mu.Unlock()
		if known {
			continue
		}
		refs, ok := servedRefs(ctx, l.j.order, l.j.dests[i].d, rel)
		if !ok {
			continue
		}
		g.mu.Lock()
		if !g.served[rel] { // not published by this run meanwhile
			g.gate.Published(rel, refs)
		}
		g.mu.Unlock()
	}
}

// servedRefs reads the version of manifest rel that d serves and returns
// what it names; false when d holds none, cannot be read back, or it does
// not parse.
func servedRefs(ctx context.Context, rules livefmt.Rules, d transfer.Destination, rel string) ([]liveorder.Ref, bool) {
	o, ok := transfer.As[transfer.Opener](d)
	if !ok {
		return nil, false
	}
	rc, err := o.Open(ctx, rel)
	if err != nil {
		return nil, false
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 16<<20))
	if err != nil {
		return nil, false
	}
	refs, err := rules.Needs(rel, data, time.Now())
	if err != nil {
		return nil, false
	}
	return refs, true
}

// inPlaceProgress lets destination i's gate learn how much of each file
// written in place is there, so that a manifest naming byte ranges of a
// file still growing (HLS single_file) is published once those bytes are
// there. Only an ordered job's progressive fs destinations write in place.
func (j *jobRun) inPlaceProgress(i int, d transfer.Destination) transfer.Destination {
	if !j.order.Any() || j.job.Publish != "progressive" {
		return d
	}
	if _, ok := transfer.As[*fsdest.Dest](d); !ok {
		return d
	}
	return liveorder.Progress(d, func(rel string, n int64) {
		if l, ok := j.obs.(*live); ok && i < len(l.gates) {
			l.gates[i].gate.MarkLength(rel, n)
			l.gates[i].poke()
		}
	})
}
