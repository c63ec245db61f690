package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"

	"github.com/efssync/efssync/agent/plan"
	"github.com/efssync/efssync/agent/policy"

	"github.com/efssync/efssync/manifest"
	"github.com/efssync/efssync/transfer"
)

// An entry of the other type in the way at a destination is replaced by
// one rule in both directions (policy.ReplaceMax): the entry itself goes as
// an overwritten file does, whatever the job's delete says, and what lies
// below it counts against max_delete like any delete. A source directory
// replaced by a file or a symlink leaves a directory where the publish
// must put a non-directory (issue 11, D5): it goes with everything below
// it, and the records below it leave the manifest, which must never claim
// what a destination lacks. A file or symlink the record knows where the
// source now has a directory goes before the mkdir (replaceNonDir). Each
// replacement is a "replace" line in the report.

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
		if err := j.removeDirAt(ctx, i, t.e.Rel, policy.ReplaceMax(limit)); err != nil {
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
	j.reportReplaced(i, rel, n)
	return nil
}

// nonDirReplaced reports whether the record describes a file or symlink
// where the source now has a directory.
func nonDirReplaced(t task) bool {
	return t.known && t.e.Mode.IsDir() && !t.prev.Mode.IsDir()
}

// replaceNonDir removes the file or symlink the record describes at each
// destination with directories that t goes to. Nothing lies below it, so
// the delete guard has nothing to count (policy.ReplaceMax). A destination
// without directories keeps it: a key and keys below it coexist there.
func (j *jobRun) replaceNonDir(ctx context.Context, t task) (result, bool) {
	for _, i := range t.act.Dests {
		if _, ok := transfer.As[transfer.DirMaker](j.dests[i].d); !ok {
			continue
		}
		err := j.dests[i].d.Remove(ctx, t.e.Rel)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return result{rel: t.e.Rel, kind: plan.KindMkdir, status: StatusFailed,
				err: fmt.Errorf("%s: %s is not a directory there, the source's is: %w", j.names[i], t.e.Rel, err)}, false
		}
		j.reportReplaced(i, t.e.Rel, 1)
	}
	return result{}, true
}

// reportReplaced reports that rel, n entries with what was below it, went
// at destination i to make way for the source's entry of another type.
func (j *jobRun) reportReplaced(i int, rel string, n int) {
	j.a.fx.did(&j.c.Deleted, int64(n))
	j.log.Info("entry of another type replaced", "path", rel, "dest", j.names[i], "removed", n)
	l := Line{Time: j.a.opts.Now(), Job: j.job.Name, Path: rel, Dest: j.names[i], Action: "replace", Status: StatusDeleted}
	l.Status = j.a.fx.done(l.Status, planLine{job: j.job.Name, what: "replace", dest: j.names[i], rel: rel})
	j.rep.Write(l)
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
