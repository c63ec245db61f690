package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/efssync/efssync/agent/plan"

	"github.com/efssync/efssync/agent/send"
	"github.com/efssync/efssync/manifest"
	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/s3src"
)

// restoreObject reads one object once and sends it to the destinations
// that need it; the sender publishes (temp file, rename) only after the
// bytes read matched the object's size and stored BLAKE3.
func (r *restoreRun) restoreObject(ctx context.Context, t objectTask) result {
	start := time.Now()
	res := r.copyObject(ctx, t)
	if res.kind != plan.KindSymlink {
		res.kind = plan.KindCopy
		res.file = true
	}
	res.dur = time.Since(start)
	return res
}

func (r *restoreRun) copyObject(ctx context.Context, t objectTask) result {
	j, o := r.j, t.obj
	if !j.a.fx.sends() {
		return r.plannedObject(ctx, t)
	}
	rp := r.findResume(o, t.dests)
	rd, err := r.src.Open(ctx, o, rp.cp)
	j.c.Opened.Add(1)
	if err != nil {
		return r.openFailed(ctx, o, err)
	}
	defer rd.Close()
	if rp.cp == nil {
		r.saveSourceCheckpoint(o, rd)
	}
	prefix, err := openPrefix(rp, rd.Start())
	if err != nil {
		j.log.Warn("kept bytes unreadable; reading the object whole", "path", o.Rel, "error", err)
		rd.Close()
		if rd, err = r.src.Open(ctx, o, nil); err != nil {
			return r.openFailed(ctx, o, err)
		}
		defer rd.Close()
	}
	if prefix != nil {
		defer prefix.Close()
	}
	m := rd.Meta()
	if m.Mode&fs.ModeSymlink != 0 {
		return r.restoreSymlink(ctx, t)
	}
	want := m.Hash
	if want == nil && multipart(o.ETag) {
		// Archived while it grew: the BLAKE3 is in a tag (one request).
		if want, err = r.src.TagHash(ctx, o); err != nil {
			return result{rel: o.Rel, status: StatusFailed, err: err}
		}
	}
	src := newObjectSource(rd, o, want)
	defer src.release()
	if prefix != nil {
		src.prefix, src.prefixLeft = prefix, rd.Start()
	}
	// Perm: set-ID and sticky bits are not restored, or whoever can write
	// the bucket could plant a set-ID file; the owner is (as root).
	meta := transfer.Meta{Size: o.Size, Mode: m.Mode.Perm(), ModTime: m.ModTime, UID: m.UID, GID: m.GID}
	res := j.sender.Send(ctx, send.File{Rel: o.Rel, Meta: meta, Dests: t.dests}, j.hook(o.Rel, src))
	if res.Err != nil {
		status := StatusFailed
		if errors.Is(res.Err, s3src.ErrChanged) {
			status = StatusChanged
		}
		return result{rel: o.Rel, status: status, err: res.Err, bytes: res.Size}
	}
	r.forgetSourceCheckpoint(o)
	rec := manifest.Record{Size: o.Size, ModTime: o.LastModified, ETag: o.ETag, Mode: m.Mode.Perm(),
		Hash: res.Sum, Dests: t.prev.Dests.Clone()}
	outs := j.outcomes(res, nil)
	j.settle(&rec, outs, j.a.opts.Now())
	return result{rel: o.Rel, rec: rec, put: true, status: StatusCopied, outs: outs, bytes: res.Size}
}

// plannedObject is what a dry run plans for an object, from its listing:
// no GET. Only an archived one costs a request, the HEAD that tells
// whether it is readable; one that is not is reported as a real run would
// report it (openFailed), except that no restore is requested.
func (r *restoreRun) plannedObject(ctx context.Context, t objectTask) result {
	o := t.obj
	if s3src.Archived(o.StorageClass) {
		if err := r.src.CheckRestored(ctx, o); err != nil {
			return r.openFailed(ctx, o, err)
		}
	}
	rec := manifest.Record{Size: o.Size, ModTime: o.LastModified, ETag: o.ETag, Dests: t.prev.Dests.Clone()}
	return planned(o.Rel, rec, t.dests, o.Size)
}

// openFailed is the result of an object that could not be opened: an
// archived one gets its restore requested when the job asks for that (a
// dry run only says a real run would).
func (r *restoreRun) openFailed(ctx context.Context, o s3src.Object, err error) result {
	var ae *s3src.ArchivedError
	g := r.j.job.From.Glacier
	switch {
	case errors.As(err, &ae) && g.Restore && !r.j.a.fx.sends():
		return result{rel: o.Rel, status: StatusPending,
			err: fmt.Errorf("s3 key %q in %s: %s; a real run requests a restore (%d days, %s) unless one is under way", o.Key, o.StorageClass, ae.State, g.Days, g.Tier)}
	case errors.As(err, &ae) && g.Restore:
		st, rerr := r.src.RequestRestore(ctx, o, int32(g.Days), g.Tier)
		if rerr != nil {
			return result{rel: o.Rel, status: StatusFailed, err: rerr}
		}
		r.j.log.Warn("archived object: restore requested; a later run reads it", "path", o.Rel, "class", o.StorageClass, "state", st)
		return result{rel: o.Rel, status: StatusPending,
			err: fmt.Errorf("s3 key %q in %s: restore %s (%d days, %s); a later run reads it once available", o.Key, o.StorageClass, st, g.Days, g.Tier)}
	case errors.Is(err, s3src.ErrChanged):
		return result{rel: o.Rel, status: StatusChanged, err: err}
	}
	return result{rel: o.Rel, status: StatusFailed, err: err}
}

// multipart reports whether an ETag is that of a multipart upload ("hex-N").
func multipart(etag string) bool {
	for i := len(etag) - 1; i >= 0; i-- {
		if etag[i] == '-' {
			return i < len(etag)-1
		}
	}
	return false
}
