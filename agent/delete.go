package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/efssync/efssync/transfer"
)

// ErrDeleteRefused is returned when the mirror-delete guard stops a delete:
// the source looks unmounted or emptied, or too much would go.
var ErrDeleteRefused = errors.New("mirror delete refused; nothing was deleted")

// mirrorDelete removes from each destination what the source no longer has.
// Entries the filter excludes are left alone. Before anything goes, the
// guard checks that the source is not empty and that no more than max_delete
// of the destination's entries would go: a source that was not mounted must
// not wipe the replica, as rsync --delete does.
func (j *jobRun) mirrorDelete(ctx context.Context) error {
	if j.walked.Load() == 0 {
		return fmt.Errorf("%w: source %s is empty (is it mounted?)", ErrDeleteRefused, j.job.Source)
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
		if err := j.mirrorDeleteAt(ctx, d, rule.Limit, rule.String()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (j *jobRun) mirrorDeleteAt(ctx context.Context, d *destination, limit func(int) int, ruleText string) error {
	gone, err := j.goneAt(ctx, d, limit, ruleText)
	if err != nil {
		return err
	}
	// Children before their parents.
	slices.SortFunc(gone, func(a, b string) int { return strings.Compare(b, a) })
	b := j.a.fx.batch(j.a.db)
	for _, rel := range gone {
		start := time.Now()
		l := Line{Time: j.a.opts.Now(), Job: j.job.Name, Path: rel, Dest: d.name, Action: "delete", Status: StatusDeleted}
		if err := d.d.Remove(ctx, rel); err != nil {
			l.Status, l.Error = StatusFailed, err.Error()
			j.c.failed.Add(1)
			j.log.Error("delete failed", "path", rel, "dest", d.name, "error", err)
		} else {
			l.Status = j.a.fx.done(l.Status, planLine{job: j.job.Name, what: "delete", dest: d.name, rel: rel})
			j.a.fx.did(&j.c.deleted, 1)
			b.Delete(j.job.Name, rel)
		}
		l.DurationMS = float64(time.Since(start).Microseconds()) / 1000
		j.rep.write(l)
	}
	if b.Len() == 0 {
		return nil
	}
	if s, ok := transfer.As[transfer.Syncer](d.d); ok {
		if err := s.Sync(ctx); err != nil {
			return fmt.Errorf("%s: sync after delete: %w", d.name, err)
		}
	}
	return b.Commit()
}

// excludedByParent reports whether a directory above rel is excluded, so
// that nothing below an excluded directory is deleted either.
func excludedByParent(f *Filter, rel string) bool {
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

// goneAt lists what d holds that the source no longer has, refusing when
// more than max_delete of d's entries would go.
func (j *jobRun) goneAt(ctx context.Context, d *destination, limit func(int) int, ruleText string) ([]string, error) {
	lister, ok := transfer.As[transfer.Lister](d.d)
	if !ok {
		return nil, fmt.Errorf("%s: cannot list the destination, so mirror delete is impossible", d.name)
	}
	total := 0
	var gone []string
	err := lister.List(ctx, func(rel string, m transfer.Meta) error {
		total++
		if j.filter.Excluded(rel, m.Mode.IsDir()) || excludedByParent(j.filter, rel) {
			return nil
		}
		if sourceLacks(j.src, rel) {
			gone = append(gone, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: list for mirror delete: %w", d.name, err)
	}
	if n := limit(total); len(gone) > n {
		return nil, fmt.Errorf("%w: %d of %d entries at %s would be deleted, more than max_delete %s allows (%d); raise max_delete if this is intended",
			ErrDeleteRefused, len(gone), total, d.name, ruleText, n)
	}
	return gone, nil
}
