package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"syscall"

	"github.com/efssync/efssync/agent/plan"

	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/s3src"
)

// A restore meets entries of the other type in its way at a destination,
// as a migration does (typechange.go): a file where an object needs a
// parent directory (key "x" deleted, "x/y" written since the last run),
// or a directory where an object's file goes ("x/y" deleted, "x"
// written). Unlike a walked tree, a listing may also hold both "x" and
// "x/y": S3 allows it, no file system does. Which case it is is known only
// once the listing is complete, so such objects are set aside and resolved
// after the pass:
//   - what the listing does not hold is replaced: a file by a directory,
//     a directory (with what is below it) by the object's file, within
//     the job's max_delete guard;
//   - a key that is also the prefix of other keys cannot be a file beside
//     them: the directory wins, at every destination and in every run,
//     and that key is an error for its object only.

// The kinds of a path in a listing, as bits: both is a conflict.
const (
	listedFile uint8 = 1 << iota // an object's key
	listedDir                    // a parent of keys, or a folder marker
)

// listing is what a pass listed: each relative path with its kinds.
type listing map[string]uint8

// add records an object (or a folder marker) and its parent directories.
func (l listing) add(rel string, dir bool) {
	kind := listedFile
	if dir {
		kind = listedDir
	}
	for p := rel; p != "." && p != "/"; p = path.Dir(p) {
		if l[p]&kind != 0 {
			return
		}
		l[p] |= kind
		kind = listedDir
	}
}

// fileAncestor is the nearest ancestor of rel listed as an object's key.
func (l listing) fileAncestor(rel string) (string, bool) {
	for p := path.Dir(rel); p != "." && p != "/"; p = path.Dir(p) {
		if l[p]&listedFile != 0 {
			return p, true
		}
	}
	return "", false
}

// shape answers, after the pass, what the source holds at a path: the
// listing a pass kept, or, when it kept none (no mirror delete to serve),
// the bucket asked about the few paths set aside.
type shape interface {
	dirAt(ctx context.Context, rel string) (bool, error)
	keyAbove(ctx context.Context, rel string) (string, bool, error)
}

func (l listing) dirAt(_ context.Context, rel string) (bool, error) {
	return l[rel]&listedDir != 0, nil
}

func (l listing) keyAbove(_ context.Context, rel string) (string, bool, error) {
	a, ok := l.fileAncestor(rel)
	return a, ok, nil
}

// bucketShape asks the source's bucket.
type bucketShape struct{ src *s3src.Source }

func (b bucketShape) dirAt(ctx context.Context, rel string) (bool, error) {
	return b.src.KeysBelow(ctx, rel)
}

func (b bucketShape) keyAbove(ctx context.Context, rel string) (string, bool, error) {
	for p := path.Dir(rel); p != "." && p != "/"; p = path.Dir(p) {
		if ok, err := b.src.IsKey(ctx, p); err != nil || ok {
			return p, ok, err
		}
	}
	return "", false, nil
}

// aside holds the objects whose publish met an entry of the other type.
type aside struct {
	mu   sync.Mutex
	objs []asideObject
}

type asideObject struct {
	t       objectTask // dests: those where the entry was in the way
	err     error      // the first such failure, reported if it stays
	counted bool       // the pass delivered the other destinations' outcomes
}

// take removes from res the outcomes that failed because an entry of the
// other type is in the way, and sets their destinations aside; it reports
// whether anything is left to deliver.
func (a *aside) take(t objectTask, res result) (result, bool) {
	var keep []outcome
	var way []int
	var first error
	for _, o := range res.outs {
		if o.err != nil && (errors.Is(o.err, syscall.ENOTDIR) || errors.Is(o.err, syscall.EISDIR)) {
			way = append(way, o.dest)
			if first == nil {
				first = o.err
			}
			continue
		}
		keep = append(keep, o)
	}
	if len(way) == 0 {
		return res, true
	}
	t.dests = way
	a.mu.Lock()
	a.objs = append(a.objs, asideObject{t: t, err: first, counted: len(keep) > 0})
	a.mu.Unlock()
	res.outs = keep
	return res, len(keep) > 0
}

// resolve restores the objects set aside, once the listing is complete
// (complete false: it failed, and nothing is replaced on its word).
func (r *restoreRun) resolve(ctx context.Context, objs []asideObject, l shape, complete bool) {
	for _, a := range objs {
		o := a.t.obj
		if !complete {
			r.j.deliver(result{rel: o.Rel, kind: plan.KindCopy, status: StatusFailed, err: a.err})
			continue
		}
		if err := r.clearWay(ctx, a.t, l); err != nil {
			r.j.deliver(result{rel: o.Rel, kind: plan.KindCopy, status: StatusFailed, err: err})
			continue
		}
		// The record as the pass left it: the destinations published then
		// stay in it.
		rec, ok, err := r.j.a.db.Get(r.j.job.Name, o.Rel)
		if err != nil {
			r.j.deliver(result{rel: o.Rel, kind: plan.KindCopy, status: StatusFailed,
				err: fmt.Errorf("manifest %s: %s: %w", r.j.a.db.Path(), o.Rel, err)})
			continue
		}
		if ok {
			a.t.prev = rec
		}
		res := r.restoreObject(ctx, a.t)
		res.again = a.counted
		r.j.deliver(res)
	}
}

// clearWay replaces, at the destinations t goes to, what is in the way of
// its object and is not in the listing; it returns the object's error
// when the listing itself holds the conflict.
func (r *restoreRun) clearWay(ctx context.Context, t objectTask, l shape) error {
	o := t.obj
	dir, err := l.dirAt(ctx, o.Rel)
	if err != nil {
		return err
	}
	if dir {
		return fmt.Errorf("s3 key %q: other keys are below %q, which must be a directory for them: this object cannot be restored as a file beside them (rename one of them)",
			o.Key, o.Key+"/")
	}
	a, ok, err := l.keyAbove(ctx, o.Rel)
	if err != nil {
		return err
	}
	if ok {
		// Key a is also a prefix of keys: it loses, here as in its own
		// restore (the check above), whatever order they were read in.
		r.j.log.Warn("a key is also the prefix of other keys: its file is replaced by their directory",
			"path", a, "below", o.Rel)
	}
	for _, i := range t.dests {
		if err := r.clearWayAt(ctx, i, o.Rel); err != nil {
			return fmt.Errorf("%s: %s: %w", r.j.names[i], o.Rel, err)
		}
	}
	return nil
}

// clearWayAt replaces, at destination i, a directory where rel's file goes
// or the first non-directory on its parent path.
func (r *restoreRun) clearWayAt(ctx context.Context, i int, rel string) error {
	j, d := r.j, r.j.dests[i]
	if m, err := d.d.Stat(ctx, rel); err == nil && m.Mode.IsDir() {
		limit, err := j.deleteLimit()
		if err != nil {
			return err
		}
		if err := j.removeDirAt(ctx, i, rel, limit); err != nil {
			return fmt.Errorf("a directory is there, where the object's file goes: %w", err)
		}
		return j.forgetBelow(rel)
	}
	parts := strings.Split(rel, "/")
	for k := 1; k < len(parts); k++ {
		dir := strings.Join(parts[:k], "/")
		m, err := d.d.Stat(ctx, dir)
		if err != nil || m.Mode.IsDir() {
			continue // missing: made by the publish; a directory: fine
		}
		mk, ok := transfer.As[transfer.DirMaker](d.d)
		if !ok {
			return fmt.Errorf("%s is not a directory and %s cannot make one", dir, j.names[i])
		}
		// Mkdir replaces a non-directory.
		if err := mk.Mkdir(ctx, dir, transfer.Meta{Mode: fs.ModeDir | 0o755, UID: -1, GID: -1}); err != nil {
			return fmt.Errorf("%s is not a directory, where the object needs one: %w", dir, err)
		}
		j.log.Info("file replaced by a directory the listing needs", "path", dir, "dest", j.names[i])
		return r.forgetAt(dir, j.names[i])
	}
	return nil
}

// forgetAt drops destination name from rel's record: the manifest must not
// claim a file that was replaced.
func (r *restoreRun) forgetAt(rel, name string) error {
	j := r.j
	rec, ok, err := j.a.db.Get(j.job.Name, rel)
	if err != nil || !ok {
		return err
	}
	rec.Dests.Delete(name)
	b := j.a.fx.batch(j.a.db)
	b.Put(j.job.Name, rel, rec)
	return b.Commit()
}
