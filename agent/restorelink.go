package agent

import (
	"context"
	"io/fs"

	"github.com/efssync/efssync/agent/plan"
	"github.com/efssync/efssync/manifest"
	"github.com/efssync/efssync/transfer"
)

// restoreSymlink recreates a symlink object (what s3dest's Symlinker
// stores: the body is the target, the metadata says symlink) as a symlink
// at each destination, through the Symlinker ability once mode uses. Its
// body is never written as a regular file. The target is the bucket's; a
// destination never follows it (fsdest resolves every path below its root
// without following a symlink).
func (r *restoreRun) restoreSymlink(ctx context.Context, t objectTask) result {
	j, o := r.j, t.obj
	target, m, err := r.src.Readlink(ctx, o)
	if err != nil {
		return result{rel: o.Rel, kind: plan.KindSymlink, status: StatusFailed, err: err}
	}
	rec := manifest.Record{Size: o.Size, ModTime: o.LastModified, ETag: o.ETag, Mode: fs.ModeSymlink | 0o777,
		LinkTarget: target, Dests: t.prev.Dests.Clone()}
	meta := transfer.Meta{Mode: fs.ModeSymlink | 0o777, ModTime: m.ModTime, UID: m.UID, GID: m.GID}
	var outs []outcome
	for _, i := range t.dests {
		o := outcome{dest: i, status: StatusSymlinked}
		sl, ok := transfer.As[transfer.Symlinker](j.dests[i].d)
		if !ok {
			o.status = StatusSkipped
			outs = append(outs, o)
			continue
		}
		if err := sl.Symlink(ctx, t.obj.Rel, target, meta); err != nil {
			o.status, o.err = StatusFailed, err
		}
		outs = append(outs, o)
	}
	j.settle(&rec, outs, j.a.opts.Now())
	return result{rel: o.Rel, kind: plan.KindSymlink, rec: rec, put: true, status: StatusSymlinked, outs: outs}
}
