package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/efssync/efssync/agent/policy"
	"github.com/efssync/efssync/agent/walk"

	"github.com/efssync/efssync/transfer"
)

// ErrDeleteRefused is returned when the delete guard (policy.DeleteAllowed)
// stops a delete.
var ErrDeleteRefused = policy.ErrDeleteRefused

// mirrorDelete removes from each destination what the source no longer has.
// Entries the filter excludes are left alone. Before anything goes, the
// guard checks that the source is not empty and that no more than max_delete
// of the destination's entries would go: a source that was not mounted must
// not wipe the replica, as rsync --delete does.
func (j *jobRun) mirrorDelete(ctx context.Context) error {
	if err := policy.DeleteAllowed(policy.DeleteCheck{Source: j.job.Source, SourceEmpty: j.treeWalked() == 0}); err != nil {
		return err
	}
	rule, err := j.job.MaxDeleteRule()
	if err != nil {
		return fmt.Errorf("max_delete: %w", err)
	}
	var errs []error
	for _, d := range j.dests {
		if d.isDown() {
			continue
		}
		if err := j.mirrorDeleteAt(ctx, d, rule.Limit, rule.String(), j.goneFromSource); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// goneFromSource reports whether the directory source no longer has rel,
// never following a symlink on the way (sourceLacks).
func (j *jobRun) goneFromSource(rel string) (bool, error) {
	return walk.Lacks(j.src, rel), nil
}

// mirrorDeleteAt deletes at d what gone reports the source no longer has.
func (j *jobRun) mirrorDeleteAt(ctx context.Context, d *destination, limit func(int) int, ruleText string,
	gone func(rel string) (bool, error)) error {
	g, err := j.goneAt(ctx, d, limit, ruleText, gone)
	if err != nil {
		return err
	}
	goneRels := g.owned
	// Children before their parents.
	slices.SortFunc(goneRels, func(a, b string) int { return strings.Compare(b, a) })
	b := j.a.fx.batch(j.a.db)
	j.forgetOthers(b, g.others)
	for _, rel := range goneRels {
		j.deleteOne(ctx, d, rel, b)
	}
	if b.Len() == 0 {
		return nil
	}
	if err := syncDest(ctx, d.d); err != nil {
		return fmt.Errorf("%s: sync after delete: %w", d.name, err)
	}
	return b.Commit()
}

// goneAt lists what d holds that gone reports the source no longer has,
// and refuses, deleting nothing, when the guard says too much would go.
func (j *jobRun) goneAt(ctx context.Context, d *destination, limit func(int) int, ruleText string,
	gone func(rel string) (bool, error)) (goneSet, error) {
	lister, ok := transfer.As[transfer.Lister](d.d)
	if !ok {
		return goneSet{}, fmt.Errorf("%s: cannot list the destination, so mirror delete is impossible", d.name)
	}
	var g goneSet
	var kept []string
	err := lister.List(ctx, func(rel string, m transfer.Meta) error {
		owned := j.shards.owns(rel)
		g.count(owned)
		if j.filter.Excluded(rel, m.Mode.IsDir()) || excludedByParent(j.filter, rel) {
			kept = append(kept, rel)
			return nil
		}
		isGone, err := gone(rel)
		if isGone {
			g.add(rel, owned)
		}
		return err
	})
	if err != nil {
		return goneSet{}, fmt.Errorf("%s: list for mirror delete: %w", d.name, err)
	}
	g.owned, g.others = policy.KeepAncestors(g.owned, kept), policy.KeepAncestors(g.others, kept)
	if err := j.guardDelete(g, d.name, limit, ruleText); err != nil {
		return goneSet{}, err
	}
	return g, nil
}

// deleteOne removes rel at d, reports it, and adds the manifest's delete
// to b when it is gone.
func (j *jobRun) deleteOne(ctx context.Context, d *destination, rel string, b batcher) {
	start := time.Now()
	l := Line{Time: j.a.opts.Now(), Job: j.job.Name, Path: rel, Dest: d.name, Action: "delete", Status: StatusDeleted}
	if err := d.d.Remove(ctx, rel); j.shards != nil && errors.Is(err, syscall.ENOTEMPTY) {
		// Another shard's files are still in it: its own delete, or
		// this shard's next run, removes the directory.
		l.Status = StatusSkipped
		j.log.Info("directory still holds other shards' files; left for a later run", "path", rel, "dest", d.name)
	} else if err != nil {
		l.Status, l.Error = StatusFailed, err.Error()
		j.c.Failed.Add(1)
		j.log.Error("delete failed", "path", rel, "dest", d.name, "error", err)
	} else {
		l.Status = j.a.fx.done(l.Status, planLine{job: j.job.Name, what: "delete", dest: d.name, rel: rel})
		j.a.fx.did(&j.c.Deleted, 1)
		b.Delete(j.job.Name, rel)
	}
	l.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	j.rep.Write(l)
}

// excludedByParent reports whether a directory above rel is excluded, so
// that nothing below an excluded directory is deleted either.
func excludedByParent(f *walk.Filter, rel string) bool {
	for i := strings.IndexByte(rel, '/'); i >= 0; {
		if f.Excluded(rel[:i], true) {
			return true
		}
		next := strings.IndexByte(rel[i+1:], '/')
		if next < 0 {
			break
		}
		i += next + 1
	}
	return false
}
