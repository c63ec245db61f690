package agent

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/efssync/efssync/agent/plan"
)

const (
	// batchSize and batchEvery bound how much published work waits for its
	// manifest commit: a crash costs at most this much repeated transfer.
	batchSize  = 1024
	batchEvery = 500 * time.Millisecond
)

// record is the only goroutine that writes the manifest during a run. It
// reports every result, and commits them in batches after the destinations
// have made the batch durable: publish, then record.
func (j *jobRun) record(ctx context.Context) error {
	var pending []result
	tick := time.NewTicker(batchEvery)
	defer tick.Stop()
	var firstErr error
	flush := func() {
		if err := j.flush(ctx, pending); err != nil && firstErr == nil {
			firstErr = err
		}
		pending = pending[:0]
	}
	for {
		select {
		case r, ok := <-j.results:
			if !ok {
				flush()
				j.releaseDests(ctx)
				return firstErr
			}
			if !r.reported {
				j.reportResult(ctx, r)
			}
			if r.put || r.del {
				pending = append(pending, r)
				if len(pending) >= batchSize {
					flush()
				}
			}
		case <-tick.C:
			if len(pending) > 0 {
				flush()
			}
		}
	}
}

// flush syncs every destination, drops the publications of any whose sync
// failed, and commits the rest in one manifest transaction.
func (j *jobRun) flush(ctx context.Context, rs []result) error {
	if len(rs) == 0 {
		return nil
	}
	syncFailed := map[string]error{}
	for _, d := range j.dests {
		if err := syncDest(context.WithoutCancel(ctx), d.d); err != nil {
			syncFailed[d.name] = err
			j.log.Error("destination could not make published files durable; they will be copied again",
				"dest", d.name, "error", err)
		}
	}
	b := j.a.fx.batch(j.a.db)
	for _, r := range rs {
		if r.del {
			b.Delete(j.job.Name, r.rel)
			continue
		}
		for name := range syncFailed {
			r.rec.Dests.Delete(name)
		}
		b.Put(j.job.Name, r.rel, r.rec)
	}
	if err := b.Commit(); err != nil {
		return fmt.Errorf("record %d files in manifest %s: %w", len(rs), j.a.db.Path(), err)
	}
	return nil
}

func (j *jobRun) reportResult(ctx context.Context, r result) {
	now := j.a.opts.Now()
	base := Line{Time: now, Job: j.job.Name, Path: r.rel, Action: r.kind.String(), DurationMS: float64(r.dur.Microseconds()) / 1000}
	if r.err != nil || len(r.outs) == 0 {
		l := base
		l.Status = r.status
		l.Bytes = r.bytes
		if r.err != nil {
			l.Error = r.err.Error()
		}
		if r.status == StatusFailed && stoppedBy(ctx, r.err) {
			l.Status = StatusInterrupted
			j.c.Stopped.Add(1)
			j.rep.Write(l)
			return
		}
		switch r.status {
		case StatusFailed:
			j.c.Failed.Add(1)
			j.log.Error("failed", "path", r.rel, "error", r.err)
		case StatusChanged:
			j.c.Changed.Add(1)
			j.log.Warn("changed during copy; not published", "path", r.rel, "error", r.err)
		case StatusSkipped:
			if r.file {
				j.c.Skipped.Add(1)
			}
		case StatusVanished:
			j.log.Info("vanished", "path", r.rel)
		case StatusPending:
			j.c.Changed.Add(1) // not in sync yet: a later run restores it
		case StatusUnsupported:
			j.c.Unsupported.Add(1)
			j.log.Warn("unsupported; not replicated", "path", r.rel, "error", r.err)
		}
		if r.status != StatusSkipped {
			j.a.fx.done(r.status, planLine{job: j.job.Name, what: string(r.status), rel: r.rel})
		}
		j.rep.Write(l)
		return
	}
	failed, stopped := false, false
	for _, o := range r.outs {
		l := base
		l.Dest = j.names[o.dest]
		l.Status = o.status
		l.Bytes = o.bytes
		if r.kind == plan.KindCopy || r.kind == plan.KindRehash || r.kind == plan.KindLink {
			l.BLAKE3 = hex.EncodeToString(r.rec.Hash[:])
		}
		if o.err == nil && o.status != StatusSkipped && o.status != StatusAdopted {
			j.a.metrics.Published(j.job.Name, l.Dest, o.bytes)
		}
		if o.err != nil && stoppedBy(ctx, o.err) {
			l.Status, l.Error = StatusInterrupted, o.err.Error()
			stopped = true
		} else if o.err != nil {
			j.a.metrics.Failed(j.job.Name, l.Dest)
			l.Status, l.Error = StatusFailed, o.err.Error()
			failed = true
			j.log.Error("failed", "path", r.rel, "dest", l.Dest, "error", o.err)
		}
		what := r.kind.String()
		if o.status == StatusAdopted {
			what = plan.KindAdopt.String()
		}
		l.Status = j.a.fx.done(l.Status, planLine{job: j.job.Name, what: what, dest: l.Dest, rel: r.rel})
		j.rep.Write(l)
	}
	switch {
	case failed:
		j.c.Failed.Add(1)
	case stopped:
		j.c.Stopped.Add(1)
	case r.kind == plan.KindAdopt:
		j.a.fx.did(&j.c.Adopted, 1)
	case r.kind == plan.KindCopy || r.kind == plan.KindLink || r.kind == plan.KindRehash:
		if !r.again {
			j.a.fx.did(&j.c.Copied, 1)
		}
		j.a.fx.did(&j.c.Bytes, r.bytes)
	}
}

// stoppedBy reports whether err only says that the run's context, ctx,
// ended (an interrupt cut the file short). Such a file is reported as
// interrupted and counted as stopped, never as failed: nothing went wrong
// with it, and the next run sends it. A cancellation while the run goes
// on (a pass that stops its other files after a fatal error) stays a
// failure. A stopped file still keeps the run from exit 0.
func stoppedBy(ctx context.Context, err error) bool {
	return ctx.Err() != nil && errors.Is(err, context.Canceled)
}
