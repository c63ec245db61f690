package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/efssync/efssync/agent/walk"

	"github.com/efssync/efssync/agent/policy"
	"github.com/efssync/efssync/transfer/fsdest"
)

// Watch mode deletes what the source lost (issue 11, D6): a directory
// renamed or moved out of the source goes at the destination with
// everything below it, and the initial pass and every rescan end with the
// mirror delete's listing, so a file deleted while the agent was stopped,
// or whose event was lost, goes too. Both honour the max_delete guard.
// The deletes go through the destinations' gates, so a segment a published
// playlist still lists is kept until no playlist lists it.

// deleteWindow is how far back watch mode counts a destination's deletes
// against max_delete (policy.DeleteWindow). A minute holds thousands of
// events of an `rm -rf`, and a few segments of a live stream, whose
// sliding window deletes one per segment duration.
const deleteWindow = time.Minute

// errTreeNotRecorded refuses a watch delete while the manifest holds no
// record of the job; the gate tries it again after the next batch.
var errTreeNotRecorded = errors.New("the manifest records no entry of this job yet")

// removeAt removes rel at d: a directory with everything below it, and
// its records below it leave the manifest; anything else with one Remove.
// It asks the one delete guard first, as once mode and the sweeps do: a
// source that looks unmounted deletes nothing, and what d deleted within
// win's span counts with this delete against max_delete. A refusal wraps
// policy.ErrDeleteRefused.
func (j *jobRun) removeAt(ctx context.Context, d *destination, rel string, win *policy.DeleteWindow) error {
	empty, err := walk.Empty(j.src)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrDeleteRefused, err)
	}
	rule, err := j.job.MaxDeleteRule()
	if err != nil {
		return fmt.Errorf("max_delete: %w", err)
	}
	total, err := j.a.db.Count(j.job.Name)
	if err != nil {
		return fmt.Errorf("count manifest records for the max_delete guard: %w", err)
	}
	check := policy.DeleteCheck{Source: j.job.Source, SourceEmpty: empty, Dest: d.name, Gone: 1,
		Owned: total, Recent: win.Recent(j.a.opts.Now()), Limit: rule.Limit, Rule: rule.String()}
	if total == 0 {
		// The recorder has not committed this job's first batch yet (a
		// watch agent's first moments): there is no tree to take a share
		// of, so the delete waits for the next batch (errTreeNotRecorded)
		// instead of going unguarded or being left for the next rescan.
		return fmt.Errorf("%w: %w", ErrDeleteRefused, errTreeNotRecorded)
	}
	if err := policy.DeleteAllowed(check); err != nil {
		return err
	}
	if tr, ok := asTreeRemover(d); ok {
		n, err := tr.RemoveTree(ctx, rel, check.Budget())
		win.Add(j.a.opts.Now(), n)
		if errors.Is(err, fsdest.ErrTooMany) {
			return fmt.Errorf("%w: %w", ErrDeleteRefused, err)
		}
		if err != nil {
			return err
		}
		if n > 0 {
			if n > 1 {
				j.c.Deleted.Add(int64(n - 1)) // the directory itself is counted by the caller
			}
			return j.forgetBelow(rel)
		}
	}
	if err := d.d.Remove(ctx, rel); err != nil {
		return err
	}
	win.Add(j.a.opts.Now(), 1)
	return nil
}

// deleteLimit is how many entries max_delete lets go at once, judged
// against the files the manifest knows for the job.
func (j *jobRun) deleteLimit() (int, error) {
	total, err := j.a.db.Count(j.job.Name)
	if err != nil {
		return 0, fmt.Errorf("count manifest records for the max_delete guard: %w", err)
	}
	rule, err := j.job.MaxDeleteRule()
	if err != nil {
		return 0, fmt.Errorf("max_delete: %w", err)
	}
	return rule.Limit(total), nil
}

// sweep queues, at every destination, the delete of what the source no
// longer has, after a pass that walked walked entries. With delete:
// mirror only; an empty source or too many deletes refuse the sweep.
func (l *live) sweep(ctx context.Context, walked int64) {
	j := l.j
	if j.job.Delete != "mirror" || ctx.Err() != nil {
		return
	}
	if err := policy.DeleteAllowed(policy.DeleteCheck{Source: j.job.Source, SourceEmpty: walked == 0}); err != nil {
		j.log.Error("mirror delete refused", "error", err)
		return
	}
	rule, err := j.job.MaxDeleteRule()
	if err != nil {
		j.log.Error("mirror delete refused", "error", err)
		return
	}
	for _, d := range j.dests {
		if d.isDown() {
			continue
		}
		g, err := j.goneAt(ctx, d, rule.Limit, rule.String(), j.goneFromSource)
		if err != nil {
			j.log.Error("mirror delete refused", "dest", d.name, "error", err)
			continue
		}
		for _, rel := range g.owned {
			l.removed(rel)
		}
	}
}
