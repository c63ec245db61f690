package agent

import (
	"context"
	"slices"

	"github.com/efssync/efssync/agent/policy"

	"github.com/efssync/efssync/agent/plan"

	"github.com/efssync/efssync/agent/walk"

	"github.com/efssync/efssync/manifest"
)

// allDests is the index of every destination of the job.
func (j *jobRun) allDests() []int {
	all := make([]int, len(j.dests))
	for i := range all {
		all[i] = i
	}
	return all
}

// planScratch is one directory's worth of looked-up records.
type planScratch struct {
	recs  []manifest.Record
	known []bool
}

// plan streams the walk through the strategy and hands work to the workers.
// Directories are created here, in walk order, so parents precede children.
func (j *jobRun) plan(ctx context.Context, tasks chan<- task) error {
	err := walk.Dirs(ctx, j.src, j.filter, j.job.Checkers, func(entries []walk.Entry) error {
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
			if err := j.guarded.Check(e); err != nil {
				return err
			}
			if err := j.planShard(ctx, e, recs[i], known[i], tasks); err != nil {
				return err
			}
		}
		return nil
	}, func(rel string, err error) {
		j.deliver(result{rel: rel, status: StatusFailed, err: err})
	})
	if err != nil {
		return err
	}
	return j.planShardRest(ctx, tasks)
}

func (j *jobRun) planEntry(ctx context.Context, e walk.Entry, rec manifest.Record, known bool, tasks chan<- task) error {
	j.walked.Add(1)
	if j.obs.busy(e.Rel) || j.reportUnsupported(e.Rel, e.Mode) {
		return nil
	}
	st := e.St
	act := j.strat.Plan(e, st, rec, known, j.names)
	act.Dests = j.liveDests(act.Dests)
	t := task{e: e, st: st, act: act, prev: rec, known: known}
	isFile := e.Mode.IsRegular()
	if isFile && act.Kind == plan.KindCopy && j.obs.follows(e) {
		return nil
	}
	if isFile && (j.obs.tally() || !known) { // a rescan counts only files new to it
		j.c.Files.Add(1)
	}
	if isFile && st.Nlink > 1 {
		key := [2]uint64{st.Dev, st.Ino}
		j.linkMu.Lock()
		first, seen := j.linkFirst[key]
		if !seen {
			j.linkFirst[key] = e.Rel
			if act.Kind == plan.KindSkip {
				j.linkHash[key] = rec.Hash
			}
		}
		if seen && act.Kind != plan.KindSkip && len(act.Dests) > 0 {
			t.act.Kind, t.linkTo = plan.KindLink, first
			j.deferred = append(j.deferred, t)
			j.linkMu.Unlock()
			return nil
		}
		j.linkMu.Unlock()
	}
	if act.Kind == plan.KindCopy && j.order.IsManifest(e.Rel) {
		if !j.obs.playlist(ctx, e.Rel) {
			j.linkMu.Lock()
			j.deferred = append(j.deferred, t)
			j.linkMu.Unlock()
		}
		return nil
	}
	if isFile && act.Kind != plan.KindSkip && j.unfinished(st) {
		j.deliver(result{rel: e.Rel, kind: act.Kind, status: StatusUnfinished})
		return nil
	}
	if isFile && act.Kind == plan.KindSkip && policy.Archives(j.job) {
		t.act = plan.Action{Kind: plan.KindArchive}
		act = t.act
	}
	switch {
	case isFile && act.Kind == plan.KindSkip && j.job.CheckDestination && len(j.liveDests(j.allDests())) > 0:
		t.act = plan.Action{Kind: plan.KindCopy, Dests: j.liveDests(j.allDests())}
		t.probe = probeCheck
		act = t.act
	case isFile && act.Kind == plan.KindCopy && j.adopts(t):
		t.probe = probeAdopt
	}
	switch {
	case act.Kind == plan.KindSkip && t.probe == probeNone || len(act.Dests) == 0 && act.Kind != plan.KindArchive:
		j.skipped(e.Rel, isFile)
		return nil
	case act.Kind == plan.KindMkdir:
		j.c.Dirs.Add(1)
		j.deliver(j.mkdirAdopting(ctx, t))
		return nil
	}
	if isFile {
		j.c.PlannedBytes.Add(st.Size)
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
