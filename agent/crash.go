package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/efssync/efssync/transfer"
)

var syscallENOTDIR = syscall.ENOTDIR

// runMarker names the file that exists while a job runs. Finding it at the
// start of a run means the last one crashed, and only then is it worth
// walking the destinations for leftovers.
func (j *jobRun) runMarker() string {
	return j.a.db.Path() + "." + j.job.Name + ".running"
}

func (j *jobRun) cleanupIfCrashed(ctx context.Context) error {
	if j.a.opts.DryRun {
		return nil
	}
	marker := j.runMarker()
	_, err := os.Stat(marker)
	crashed := err == nil
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		return fmt.Errorf("run marker %s: %w", marker, err)
	}
	if !crashed {
		return nil
	}
	for _, d := range j.dests {
		c, ok := transfer.As[transfer.Cleaner](d.d)
		if !ok {
			continue
		}
		keep := func(uploadID string) bool { return j.checkpointed(uploadID) }
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

// checkpointed reports whether an upload ID is still needed for a resume.
func (j *jobRun) checkpointed(uploadID string) bool {
	found := false
	_ = j.a.db.Checkpoints(j.job.Name, func(_, _ string, cp *transfer.Checkpoint) error {
		if cp.UploadID == uploadID {
			found = true
		}
		return nil
	})
	return found
}

func (j *jobRun) markClean() error {
	if j.a.opts.DryRun {
		return nil
	}
	if err := os.Remove(j.runMarker()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("run marker: %w", err)
	}
	return nil
}

// GC removes what interrupted runs left at the destinations of the selected
// jobs: temp files on mounted file systems and multipart uploads in S3 that
// no checkpoint of this agent will resume. It returns how many it removed.
func (a *Agent) GC(ctx context.Context) (int, error) {
	total := 0
	var errs []error
	for _, job := range a.selected() {
		rep, _ := newReporter("")
		j, err := a.newJobRun(ctx, job, rep, &counters{})
		if err != nil {
			errs = append(errs, fmt.Errorf("job %s: %w", job.Name, err))
			continue
		}
		for _, d := range j.dests {
			c, ok := transfer.As[transfer.Cleaner](d.d)
			if !ok {
				continue
			}
			n, err := c.Cleanup(ctx, j.checkpointed)
			total += n
			if err != nil {
				errs = append(errs, fmt.Errorf("job %s: %s: %w", job.Name, d.name, err))
			}
			a.opts.Log.Info("gc", "job", job.Name, "dest", d.name, "removed", n)
		}
	}
	return total, errors.Join(errs...)
}
