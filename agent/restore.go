package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/efssync/efssync/agent/plan"

	"github.com/efssync/efssync/agent/policy"
	"github.com/efssync/efssync/agent/report"

	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/manifest"
	"github.com/efssync/efssync/transfer/s3src"
)

// restoreRun is one pass of a job whose source is S3 (a restore): the
// listing is the walk, the plan compares each object's size, ETag and
// LastModified with its record, and each changed object goes through the
// job's one sender to every fs destination, read once.
type restoreRun struct {
	j   *jobRun
	src *s3src.Source
}

// objectTask is one listed object that some destination needs.
type objectTask struct {
	obj   s3src.Object
	prev  manifest.Record
	dests []int
}

// runRestore is runJob for an S3 source.
func (a *Agent) runRestore(ctx context.Context, job config.Job, rep *report.Writer, c *report.Counters) error {
	src, err := openS3Source(ctx, job)
	if err != nil {
		return err
	}
	j, err := a.newJobRun(ctx, job, rep, c)
	if err != nil {
		return err
	}
	if err := j.cleanupIfCrashed(ctx); err != nil {
		return err
	}
	r := &restoreRun{j: j, src: src}
	stop := j.startRecorder(ctx)
	listed, set, err := r.pass(ctx)
	rerr := stop()
	if len(set) > 0 && rerr == nil {
		// After the first recorder committed: what is replaced now is
		// never claimed again by a batch still in flight.
		stop = j.startRecorder(ctx)
		var l shape = bucketShape{r.src}
		if listed != nil {
			l = listed
		}
		r.resolve(ctx, set, l, err == nil)
		rerr = stop()
	}
	if err == nil {
		err = rerr
	}
	if err != nil {
		if job.Delete == "mirror" {
			err = fmt.Errorf("%w: the listing of %s failed, so it is not the whole source: %w", ErrDeleteRefused, src.Name(), err)
		}
		return err
	}
	if err := j.markClean(); err != nil {
		return err
	}
	if job.Delete == "mirror" {
		return r.mirrorDelete(ctx, listed)
	}
	return nil
}

// pass lists the source and restores what changed. It returns the
// relative paths listed (and their parent directories; nil when nothing
// needs them, see below), for the mirror delete and for the objects it set aside (an entry of the other type in
// their way, restoreway.go), and the listing's error: after one, the
// listing is incomplete.
func (r *restoreRun) pass(ctx context.Context) (listing, []asideObject, error) {
	j := r.j
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	objs := make(chan s3src.Object, 1024)
	listErr := make(chan error, 1)
	go func() { listErr <- r.src.List(lctx, objs) }()
	tasks := make(chan objectTask, 2*j.job.Concurrency)
	var set aside
	done := make(chan struct{})
	go func() {
		defer close(done)
		runWorkers(j.job.Concurrency, tasks, func(t objectTask) {
			if res, ok := set.take(t, r.restoreObject(ctx, t)); ok {
				j.deliver(res)
			}
		})
	}()
	// Every listed key is kept only for what needs the whole listing once
	// the pass is done: a mirror delete, and objects set aside in a
	// restore AsOf (whose bucket no longer answers for that time). Any
	// other restore keeps nothing per object, so its memory does not grow
	// with the bucket.
	var listed listing
	if j.job.Delete == "mirror" || !j.job.From.AsOfTime().IsZero() {
		listed = listing{}
	}
	var perr error
	for o := range objs {
		if perr != nil {
			continue // drain
		}
		if perr = r.planObject(ctx, o, listed, tasks); perr != nil {
			cancel()
		}
	}
	close(tasks)
	<-done
	err := <-listErr
	if perr != nil {
		err = perr
	}
	return listed, set.objs, err
}

// planObject compares one listed object with its record and queues it for
// the destinations that lack it.
func (r *restoreRun) planObject(ctx context.Context, o s3src.Object, listed listing, tasks chan<- objectTask) error {
	j := r.j
	if o.Err != nil {
		j.c.Files.Add(1)
		j.deliver(result{rel: o.Key, kind: plan.KindCopy, status: StatusFailed, err: o.Err, file: true})
		return nil
	}
	if listed != nil {
		listed.add(o.Rel, o.Dir)
	}
	if j.filter.Excluded(o.Rel, o.Dir) || excludedByParent(j.filter, o.Rel) {
		return nil
	}
	// The walk's rule: a key named like efssync's own temp files would be
	// hidden by the destination and removed by the next crash cleanup,
	// while the manifest claimed it.
	if j.reportUnsupported(o.Rel, objectMode(o)) {
		return nil
	}
	if o.Dir {
		r.restoreMarker(ctx, o)
		return nil
	}
	j.c.Files.Add(1)
	j.walked.Add(1)
	rec, known, err := j.a.db.Get(j.job.Name, o.Rel)
	if err != nil {
		return fmt.Errorf("manifest %s: %s: %w", j.a.db.Path(), o.Rel, err)
	}
	unchanged := known && policy.SourceUnchanged(policy.RecordIdentity(rec), policy.ObjectIdentity(o.Size, o.ETag, o.LastModified))
	var need []int
	for i, name := range j.names {
		if !j.dests[i].isDown() && policy.NeedsTransfer(unchanged, rec, name) {
			need = append(need, i)
		}
	}
	if len(need) == 0 {
		j.skipped(o.Rel, true)
		return nil
	}
	j.a.fx.planned(j.c)
	tasks <- objectTask{obj: o, prev: rec, dests: need}
	return nil
}

// mirrorDelete removes from each destination what the listing did not
// hold, with the guards of a directory source: an empty listing is refused
// (a wrong prefix or bucket must not wipe the replica), and so is more
// than max_delete.
func (r *restoreRun) mirrorDelete(ctx context.Context, listed listing) error {
	j := r.j
	if err := policy.DeleteAllowed(policy.DeleteCheck{Source: r.src.Name(), SourceEmpty: len(listed) == 0, Listing: true}); err != nil {
		return err
	}
	rule, err := j.job.MaxDeleteRule()
	if err != nil {
		return fmt.Errorf("max_delete: %w", err)
	}
	gone := func(rel string) (bool, error) {
		_, ok := listed[rel]
		return !ok, nil
	}
	var errs []error
	for _, d := range j.dests {
		if d.isDown() {
			continue
		}
		if err := j.mirrorDeleteAt(ctx, d, rule.Limit, rule.String(), gone); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// objectMode is the file type a listed object restores to, for unsupported.
func objectMode(o s3src.Object) fs.FileMode {
	if o.Dir {
		return fs.ModeDir
	}
	return 0
}
