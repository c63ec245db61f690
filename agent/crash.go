package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/efssync/efssync/agent/report"
	"github.com/efssync/efssync/agent/walk"

	"github.com/efssync/efssync/agent/send"
	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/fsdest"
)

// runMarker names the file that exists while a job runs. Finding it at the
// start of a run means the last one crashed, and only then is it worth
// walking the destinations for leftovers.
func (j *jobRun) runMarker() string {
	return j.a.db.Path() + "." + j.job.Name + ".running"
}

func (j *jobRun) cleanupIfCrashed(ctx context.Context) error {
	crashed, err := j.a.fx.mark(j.runMarker())
	if err != nil || !crashed {
		return err
	}
	// A restore's checkpoints name objects, not files below a source
	// directory: each is checked against its object when next copied.
	if !j.job.From.IsS3() {
		if n, err := j.abortStaleUploads(ctx); err != nil {
			j.log.Warn("aborting stale uploads failed", "error", err)
		} else if n > 0 {
			j.log.Info("aborted uploads of source versions that are gone", "count", n)
		}
	}
	keep, err := j.keepLeftover()
	if err != nil {
		return err
	}
	for _, d := range j.dests {
		c, ok := transfer.As[transfer.Cleaner](d.d)
		if !ok {
			continue
		}
		n, err := c.Cleanup(ctx, keep)
		if err != nil {
			j.log.Warn("cleanup of a crashed run's leftovers failed", "dest", d.name, "error", err)
			continue
		}
		if n > 0 {
			j.log.Info("removed leftovers of a crashed run", "dest", d.name, "count", n)
		}
	}
	return nil
}

// keepLeftover keeps, in a destination's cleanup, every multipart upload: the
// uploads this agent started are known from its checkpoints and were dealt
// with by abortStaleUploads; any other belongs to another agent (a shard
// writing under the same prefix) or to nobody we can know of. Uploads that
// crashed before their first checkpoint are left to the bucket's
// AbortIncompleteMultipartUpload lifecycle rule.
//
// A kept part file of a mounted destination (fsdest.PartPrefix) is kept
// only while a checkpoint of one of the agent's jobs names it: one whose run died
// before its first checkpoint is named by none, and nothing would ever
// resume or remove it.
func (j *jobRun) keepLeftover() (func(string) bool, error) {
	// Every job's checkpoints: the agent's tag is shared by its jobs.
	named := map[string]bool{}
	for _, job := range j.a.cfg.Jobs {
		err := j.a.db.Checkpoints(job.Name, func(_, _ string, data []byte) error {
			if cp, _, err := send.DecodeCheckpoint(data); err == nil && cp != nil {
				named[filepath.Clean(cp.Key)] = true
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("manifest %s: checkpoints of job %s: %w", j.a.db.Path(), job.Name, err)
		}
	}
	return func(id string) bool {
		if name := filepath.Base(id); !strings.HasPrefix(name, fsdest.PartPrefix) || !fsdest.IsTempName(name) {
			return true // an upload id: never ours to abort here
		}
		return named[filepath.Clean(id)]
	}, nil
}

// stale is a checkpointed upload whose source version is gone.
type stale struct {
	dest, rel string
	cp        *transfer.Checkpoint
}

// staleCheckpoints lists the checkpoints of uploads whose source version
// no longer exists, changing nothing.
func (j *jobRun) staleCheckpoints() ([]stale, error) {
	var gone []stale
	err := j.a.db.Checkpoints(j.job.Name, func(dest, rel string, data []byte) error {
		cp, _, err := send.DecodeCheckpoint(data)
		if err != nil {
			// Unreadable: nothing can resume or abort it. Listed with no
			// upload, so a real gc forgets it and a dry run only says so.
			j.log.Warn("upload checkpoint unreadable", "dest", dest, "path", rel, "error", err)
			gone = append(gone, stale{dest: dest, rel: rel})
			return nil
		}
		fi, err := os.Lstat(filepath.Join(j.src, filepath.FromSlash(rel)))
		if err != nil || send.Stale(data, identity(walk.StatOf(fi))) {
			gone = append(gone, stale{dest, rel, cp})
		}
		return nil
	})
	return gone, err
}

// abortStaleUploads aborts the multipart uploads this agent checkpointed
// for a source version that no longer exists (the file changed or went),
// and forgets them. Checkpoints that still match the source stay for the
// run to resume.
func (j *jobRun) abortStaleUploads(ctx context.Context) (int, error) {
	gone, err := j.staleCheckpoints()
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, s := range gone {
		for _, d := range j.dests {
			if d.name != s.dest || s.cp == nil {
				continue
			}
			up, err := d.d.Begin(ctx, s.rel, transfer.Meta{Size: -1}, s.cp)
			if err == nil {
				err = up.Abort(ctx)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: abort stale upload of %s: %w", d.name, s.rel, err))
				continue
			}
			n++
		}
		if err := j.a.db.DeleteCheckpoint(j.job.Name, s.dest, s.rel); err != nil {
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}

func (j *jobRun) markClean() error {
	return j.a.fx.unmark(j.runMarker())
}

// GC removes what interrupted runs left at the destinations of the selected
// jobs: temp files on mounted file systems and multipart uploads in S3 that
// no checkpoint of this agent will resume. It returns how many it removed.
//
// With Options.DryRun it changes nothing (no abort, no removal, no
// checkpoint forgotten): it writes what it would remove to PlanOut, one
// line each, and returns how many.
func (a *Agent) GC(ctx context.Context) (int, error) {
	return a.fx.gc(ctx, a)
}

// gcEach runs fn for every selected job with a job run of its own, and
// adds up what fn counted and the errors, each naming its job.
func (a *Agent) gcEach(ctx context.Context, fn func(j *jobRun) (int, error)) (int, error) {
	total := 0
	var errs []error
	for _, job := range a.selected() {
		rep, _ := report.Open("")
		j, err := a.newJobRun(ctx, job, rep, &report.Counters{})
		if err == nil {
			var n int
			n, err = fn(j)
			total += n
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("job %s: %w", job.Name, err))
		}
	}
	return total, errors.Join(errs...)
}

// gcRemove is GC's real run.
func (a *Agent) gcRemove(ctx context.Context) (int, error) {
	return a.gcEach(ctx, func(j *jobRun) (int, error) {
		total := 0
		var errs []error
		job := j.job
		if s, err := j.abortStaleUploads(ctx); err != nil {
			errs = append(errs, err)
		} else {
			total += s
		}
		keep, err := j.keepLeftover()
		if err != nil {
			return total, errors.Join(append(errs, err)...)
		}
		for _, d := range j.dests {
			c, ok := transfer.As[transfer.Cleaner](d.d)
			if !ok {
				continue
			}
			n, err := c.Cleanup(ctx, keep)
			total += n
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", d.name, err))
			}
			a.opts.Log.Info("gc", "job", job.Name, "dest", d.name, "removed", n)
		}
		return total, errors.Join(errs...)
	})
}

// gcPlan is GC's dry run. The decorated destinations hide every ability
// that could change something, so the leftovers are listed on undecorated
// ones, through the read-only transfer.LeftoverLister.
func (a *Agent) gcPlan(ctx context.Context) (int, error) {
	return a.gcEach(ctx, func(j *jobRun) (int, error) {
		total := 0
		var errs []error
		job := j.job
		gone, err := j.staleCheckpoints()
		if err != nil {
			errs = append(errs, err)
		}
		for _, s := range gone {
			if s.cp == nil {
				fmt.Fprintf(a.opts.PlanOut, "%s\tforget checkpoint\t%s\t%s (unreadable)\n", job.Name, s.dest, s.rel)
			} else {
				fmt.Fprintf(a.opts.PlanOut, "%s\tabort upload\t%s\t%s (upload %s, checkpointed for a source version that is gone)\n",
					job.Name, s.dest, s.cp.Key, s.cp.UploadID)
			}
			total++
		}
		keep, err := j.keepLeftover()
		if err != nil {
			return total, errors.Join(append(errs, err)...)
		}
		for _, dc := range job.Destinations {
			d, err := a.openDestination(ctx, job, dc)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", dc.Name, err))
				continue
			}
			l, ok := transfer.As[transfer.LeftoverLister](d)
			if !ok {
				continue
			}
			err = l.Leftovers(ctx, keep, func(what string) error {
				fmt.Fprintf(a.opts.PlanOut, "%s\tremove\t%s\t%s\n", job.Name, dc.Name, what)
				total++
				return nil
			})
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", dc.Name, err))
			}
		}
		return total, errors.Join(errs...)
	})
}
