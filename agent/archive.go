package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/efssync/efssync/agent/plan"

	"github.com/efssync/efssync/agent/policy"
	"github.com/efssync/efssync/agent/walk"
	"github.com/efssync/efssync/manifest"
)

// unfinished reports whether a file changed within the job's finished.quiet:
// an archive job leaves a recording that is still being written for a later
// run instead of uploading a moving target.
func (j *jobRun) unfinished(st walk.Stat) bool {
	q := j.job.Finished.Quiet.D()
	if q <= 0 {
		return false
	}
	// mtime, not ctime: a writer moves mtime with every write, while ctime
	// also moves on a rename or chmod that leaves the content alone.
	return j.a.opts.Now().Sub(st.Mtime) < q
}

// archive removes a source file once every destination holds a verified
// copy of exactly the content that was read, and the source has not changed
// since. Any doubt keeps the source.
func (j *jobRun) archive(ctx context.Context, t task, rec manifest.Record) result {
	start := time.Now()
	r := result{rel: t.e.Rel, kind: plan.KindArchive}
	hash := rec.Hash
	if err := policy.ReleaseSource(t.e.Rel, j.jobDests(), rec); err != nil {
		r.status, r.err = StatusFailed, err
		return r
	}
	src, sum, err := j.archivedSource(t)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		r.status = StatusVanished
		return r
	case errors.Is(err, ErrChanged):
		r.status, r.err = StatusChanged, fmt.Errorf("%w; source kept", err)
		return r
	case err != nil:
		r.status, r.err = StatusFailed, fmt.Errorf("%w; source kept", err)
		return r
	}
	defer src.Close()
	if sum != hash {
		r.status, r.err = StatusChanged, fmt.Errorf("%s: %w; source kept", t.e.Abs(), errArchiveDiffers)
		if t.act.Kind == plan.KindArchive {
			// The record is wrong: forget it, so the next pass copies the
			// source's content again before anything is archived.
			r.del = true
		}
		return r
	}
	for i, d := range j.dests {
		if err := j.verifyArchived(ctx, d.d, t, src, sum); err != nil {
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
	if !policy.SourceUnchanged(policy.FileIdentity(t.st, t.e.Mode), policy.FileIdentity(walk.StatOf(fi), fi.Mode())) {
		r.status = StatusChanged
		r.err = fmt.Errorf("%s: %w since it was archived; source kept", t.e.Abs(), ErrChanged)
		return r
	}
	// The copies must survive a power loss before the original goes.
	for i, d := range j.dests {
		if err := syncDest(ctx, d.d); err != nil {
			r.status, r.err = StatusFailed, fmt.Errorf("%s: sync before removing the source: %w; source kept", j.names[i], err)
			return r
		}
	}
	if err := j.a.fx.removeSource(t.e.Abs()); err != nil {
		r.status, r.err = StatusFailed, fmt.Errorf("remove archived source %s: %w", t.e.Abs(), err)
		return r
	}
	j.a.fx.did(&j.c.Deleted, 1)
	r.status = StatusArchived // the recorder reports it (a dry run: prints it)
	r.dur = time.Since(start)
	return r
}
