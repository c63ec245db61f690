package agent

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/efssync/efssync/agent/send"
	"github.com/efssync/efssync/transfer"
)

// unfinished reports whether a file changed within the job's finished.quiet:
// an archive job leaves a recording that is still being written for a later
// run instead of uploading a moving target.
func (j *jobRun) unfinished(st stat) bool {
	q := j.job.Finished.Quiet.D()
	if q <= 0 {
		return false
	}
	// mtime, not ctime: a writer moves mtime with every write, while ctime
	// also moves on a rename or chmod that leaves the content alone.
	return j.a.opts.Now().Sub(st.mtime) < q
}

// archive removes a source file once every destination holds a verified
// copy of exactly the content that was read, and the source has not changed
// since. Any doubt keeps the source.
func (j *jobRun) archive(ctx context.Context, t task, hash [32]byte) result {
	start := time.Now()
	r := result{rel: t.e.Rel, kind: KindArchive}
	m := transfer.Meta{Size: t.st.size, ModTime: t.st.mtime, Hash: hash[:]}
	for i, d := range j.dests {
		if _, ok := t.prev.Dests.Get(d.name); !ok && t.act.Kind == KindArchive {
			r.status, r.err = StatusFailed, fmt.Errorf("%s: not recorded as published at %s; source kept", t.e.Rel, d.name)
			return r
		}
		got, err := d.d.Stat(ctx, t.e.Rel)
		content := j.job.Verify == "all" || err == nil && len(got.Hash) == 0
		if err == nil {
			err = send.VerifyAt(ctx, d.d, t.e.Rel, m, content)
		}
		if err != nil {
			r.status = StatusFailed
			r.err = fmt.Errorf("%s: verify before removing the source: %w; source kept", j.names[i], err)
			return r
		}
	}
	fi, err := os.Lstat(t.e.Abs())
	if err != nil {
		r.status, r.err = StatusVanished, nil
		return r
	}
	now := statOf(fi)
	if now.size != t.st.size || !now.mtime.Equal(t.st.mtime) || !now.ctime.Equal(t.st.ctime) || now.ino != t.st.ino {
		r.status = StatusChanged
		r.err = fmt.Errorf("%s: %w since it was archived; source kept", t.e.Abs(), ErrChanged)
		return r
	}
	// The copies must survive a power loss before the original goes.
	for i, d := range j.dests {
		if s, ok := transfer.As[transfer.Syncer](d.d); ok {
			if err := s.Sync(ctx); err != nil {
				r.status, r.err = StatusFailed, fmt.Errorf("%s: sync before removing the source: %w; source kept", j.names[i], err)
				return r
			}
		}
	}
	if err := j.a.fx.removeSource(t.e.Abs()); err != nil {
		r.status, r.err = StatusFailed, fmt.Errorf("remove archived source %s: %w", t.e.Abs(), err)
		return r
	}
	j.a.fx.did(&j.c.deleted, 1)
	r.status = j.a.fx.done(StatusArchived, planLine{job: j.job.Name, what: "archive", rel: t.e.Rel})
	r.dur = time.Since(start)
	return r
}
