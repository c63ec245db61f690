package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/efssync/efssync/agent/plan"

	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/s3src"
)

// markerMode is the mode of a directory restored from a folder marker: the
// marker carries none, and 0755 is what mkdir gives under the usual umask.
const markerMode = fs.ModeDir | 0o755

// restoreMarker makes the directory a folder marker ("dir/", made by
// consoles and other tools for an empty directory) stands for, with any
// missing parents, at every destination that keeps directories, so that an
// empty directory comes back too. Directories already there are left as
// they are. Nothing is recorded: a marker costs one stat per directory
// level on each run.
func (r *restoreRun) restoreMarker(ctx context.Context, o s3src.Object) {
	j := r.j
	res := result{rel: o.Rel, kind: plan.KindMkdir, status: StatusSkipped}
	for i, d := range j.dests {
		dm, ok := transfer.As[transfer.DirMaker](d.d)
		if !ok || d.isDown() {
			continue
		}
		made, err := mkdirAll(ctx, d.d, dm, o.Rel)
		switch {
		case err != nil:
			res.status = StatusFailed
			res.outs = append(res.outs, outcome{dest: i, status: StatusFailed, err: err})
		case made:
			res.outs = append(res.outs, outcome{dest: i, status: StatusMkdir})
			if res.status != StatusFailed {
				res.status = StatusMkdir
			}
		}
	}
	if res.status == StatusSkipped {
		j.skipped(o.Rel, false)
		return
	}
	j.deliver(res)
}

// mkdirAll makes rel and its missing parents below d's root, top down,
// without touching those that exist; made reports whether it made any.
// An entry in the way that is not a directory is an error naming it.
func mkdirAll(ctx context.Context, d transfer.Destination, dm transfer.DirMaker, rel string) (made bool, err error) {
	parts := strings.Split(rel, "/")
	for n := range parts {
		p := path.Join(parts[:n+1]...)
		got, err := d.Stat(ctx, p)
		switch {
		case err == nil && got.Mode.IsDir():
			continue
		case err == nil:
			return made, fmt.Errorf("restore folder marker %s: %s is a %v, not a directory", rel, p, got.Mode.Type())
		case !errors.Is(err, fs.ErrNotExist):
			return made, fmt.Errorf("restore folder marker %s: %w", rel, err)
		}
		if err := dm.Mkdir(ctx, p, transfer.Meta{Mode: markerMode, UID: -1, GID: -1}); err != nil {
			return made, fmt.Errorf("restore folder marker %s: %w", rel, err)
		}
		made = true
	}
	return made, nil
}

// verifyMarker reports each destination keeping directories that lacks the
// directory a folder marker stands for.
func (j *jobRun) verifyMarker(ctx context.Context, o s3src.Object, report func(dest, rel, why string, isErr bool)) {
	for _, d := range j.dests {
		if _, ok := transfer.As[transfer.DirMaker](d.d); !ok {
			continue
		}
		got, err := d.d.Stat(ctx, o.Rel)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			report(d.name, o.Rel, "missing (folder marker)", false)
		case err != nil:
			report(d.name, o.Rel, "unreadable: "+err.Error(), true)
		case !got.Mode.IsDir():
			report(d.name, o.Rel, fmt.Sprintf("is a %v, the source has a folder marker", got.Mode.Type()), false)
		}
	}
}
