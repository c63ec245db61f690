package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/efssync/efssync/agent/plan"

	"github.com/efssync/efssync/manifest"
	"github.com/efssync/efssync/transfer"
)

// A source directory replaced by a file or a symlink leaves a directory at
// the destinations where the publish must put a non-directory (issue 11,
// D5). The directory goes, with everything below it, within the job's
// max_delete guard; the records below it go from the manifest, which must
// never claim what a destination lacks. The reverse (a file replaced by a
// directory) needs nothing here: Mkdir replaces a non-directory.

// treeRemover is a destination that can remove a directory tree without
// following symlinks (fsdest). Object stores have no directories: a key
// and keys below it coexist, and mirror delete removes the latter.
type treeRemover interface {
	RemoveTree(ctx context.Context, rel string, max int) (int, error)
}

func asTreeRemover(d *destination) (treeRemover, bool) { return transfer.As[treeRemover](d.d) }

// dirInTheWay reports whether publishing t's non-directory failed at a
// destination because a directory is there.
func dirInTheWay(t task, r result) bool {
	if t.e.Mode.IsDir() || t.act.Kind == plan.KindArchive {
		return false
	}
	for _, o := range r.outs {
		if o.err != nil && errors.Is(o.err, syscall.EISDIR) {
			return true
		}
	}
	return false
}

// typeChanged reports whether the record describes a directory where the
// source now has something else.
func typeChanged(t task) bool {
	return t.known && t.prev.Mode.IsDir() && !t.e.Mode.IsDir()
}

// replaceDirectory removes the directory the record describes at each
// destination t goes to. It returns a failed result when a destination
// could not be cleared (the guard refused, or the removal failed); the
// destinations that were cleared stay cleared and are retried next run.
func (j *jobRun) replaceDirectory(ctx context.Context, t task) (result, bool) {
	limit, err := j.deleteLimit()
	if err != nil {
		return result{rel: t.e.Rel, status: StatusFailed, err: fmt.Errorf("%s: %w", t.e.Rel, err)}, false
	}
	for _, i := range t.act.Dests {
		if err := j.removeDirAt(ctx, i, t.e.Rel, limit); err != nil {
			return result{rel: t.e.Rel, status: StatusFailed,
				err: fmt.Errorf("%s: %s is a directory there, the source's is not: %w", j.names[i], t.e.Rel, err)}, false
		}
	}
	if err := j.forgetBelow(t.e.Rel); err != nil {
		return result{rel: t.e.Rel, status: StatusFailed, err: err}, false
	}
	return result{}, true
}

// removeDirAt removes the directory rel and what is below it at
// destination i, at most limit entries; a destination without directories
// has nothing to remove.
func (j *jobRun) removeDirAt(ctx context.Context, i int, rel string, limit int) error {
	tr, ok := asTreeRemover(j.dests[i])
	if !ok {
		return nil
	}
	n, err := tr.RemoveTree(ctx, rel, limit)
	if err != nil {
		return err
	}
	j.a.fx.did(&j.c.Deleted, int64(n))
	j.log.Info("directory replaced by a non-directory", "path", rel, "dest", j.names[i], "removed", n)
	return nil
}

// forgetBelow removes the manifest records below the directory rel.
func (j *jobRun) forgetBelow(rel string) error {
	var below []string
	prefix := rel + "/"
	err := j.a.db.Walk(j.job.Name, func(r string, _ manifest.Record) error {
		if strings.HasPrefix(r, prefix) {
			below = append(below, r)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: list manifest records below it: %w", rel, err)
	}
	b := j.a.fx.batch(j.a.db)
	for _, r := range below {
		b.Delete(j.job.Name, r)
	}
	return b.Commit()
}
