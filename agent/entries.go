package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/efssync/efssync/agent/policy"

	"github.com/efssync/efssync/agent/plan"

	"github.com/efssync/efssync/manifest"
	"github.com/efssync/efssync/transfer"
)

// exec carries out one task at its destinations.
func (j *jobRun) exec(ctx context.Context, t task) result {
	start := time.Now()
	var r result
	if typeChanged(t) && t.act.Kind != plan.KindArchive {
		if fail, ok := j.replaceDirectory(ctx, t); !ok {
			fail.kind = t.act.Kind
			return fail
		}
	}
	r = j.execTask(ctx, t)
	if dirInTheWay(t, r) {
		// A directory no record knows of (a rebuilt manifest, a replica
		// being adopted): replace it as a known one, then publish again.
		if fail, ok := j.replaceDirectory(ctx, t); ok {
			r = j.execTask(ctx, t)
		} else {
			r = fail
			r.kind = t.act.Kind
		}
	}
	r.dur = time.Since(start)
	return r
}

// execTask carries out t: a probe of the destinations first (adoption,
// check_destination), or its action directly.
func (j *jobRun) execTask(ctx context.Context, t task) result {
	if t.probe != probeNone {
		return j.probe(ctx, t) // its result names its own kind
	}
	r := j.execKind(ctx, t)
	r.kind = t.act.Kind
	return r
}

// execKind carries out the work of t's kind.
func (j *jobRun) execKind(ctx context.Context, t task) result {
	switch t.act.Kind {
	case plan.KindCopy:
		return j.copyFile(ctx, t)
	case plan.KindRehash:
		return j.rehash(ctx, t)
	case plan.KindSymlink:
		return j.symlink(ctx, t)
	case plan.KindLink:
		return j.link(ctx, t)
	case plan.KindArchive:
		return j.archive(ctx, t, t.prev)
	}
	return result{rel: t.e.Rel, status: StatusSkipped}
}

// baseRecord is the manifest record for what the walk saw, keeping the
// publications of destinations that were not touched.
func baseRecord(t task, mode fs.FileMode) manifest.Record {
	rec := manifest.Record{Size: t.st.Size, ModTime: t.st.Mtime, CTime: t.st.Ctime,
		Inode: t.st.Ino, Dev: t.st.Dev, Mode: mode, Dests: t.prev.Dests.Clone()}
	return rec
}

func (j *jobRun) meta(t task) transfer.Meta {
	return policy.Meta(t.st, t.e.Mode)
}

// settle applies per-destination outcomes to rec: success publishes, failure
// forgets, so the next run retries exactly the destinations that need it.
func (j *jobRun) settle(rec *manifest.Record, outs []outcome, now time.Time) {
	for _, o := range outs {
		name := j.names[o.dest]
		if o.err != nil {
			rec.Dests.Delete(name)
			if j.dests[o.dest].fail(o.err) {
				msg := "destination taken out of this run"
				if transfer.IsNoSpace(o.err) {
					msg = "destination out of space: stopped for this run, the other destinations go on"
				}
				j.log.Error(msg, "dest", name, "error", o.err)
				j.a.metrics.DestUp(j.job.Name, name, false)
			}
			continue
		}
		rec.Dests.Set(name, manifest.Published{Size: rec.Size, ModTime: rec.ModTime, Hash: rec.Hash, At: now})
	}
}

func (j *jobRun) mkdir(ctx context.Context, t task) result {
	if nonDirReplaced(t) {
		if fail, ok := j.replaceNonDir(ctx, t); !ok {
			return fail
		}
	}
	rec := baseRecord(t, t.e.Mode)
	m := j.dirMeta(t)
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
	return result{rel: t.e.Rel, kind: plan.KindMkdir, rec: rec, put: true, status: StatusMkdir, outs: outs}
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
	key := [2]uint64{t.st.Dev, t.st.Ino}
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
		t2.act = plan.Action{Kind: plan.KindCopy, Dests: copyTo}
		r := j.copyFile(ctx, t2)
		if r.status != StatusCopied {
			return r
		}
		rec = r.rec
		outs = append(outs, r.outs...)
		j.settle(&rec, outs, j.a.opts.Now())
		return result{rel: t.e.Rel, rec: rec, put: true, status: StatusLinked, outs: outs, bytes: r.bytes}
	}
	j.c.Links.Add(1)
	j.settle(&rec, outs, j.a.opts.Now())
	return result{rel: t.e.Rel, rec: rec, put: true, status: StatusLinked, outs: outs}
}
