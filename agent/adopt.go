package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sync"
	"time"

	"github.com/efssync/efssync/agent/policy"

	"github.com/efssync/efssync/agent/plan"

	"github.com/efssync/efssync/agent/send"
	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/transfer"
)

// probeKind says why a task stats its destinations before it sends: a
// destination may already hold the file, so nothing needs publishing there.
type probeKind uint8

const (
	probeNone probeKind = iota
	// probeAdopt: the manifest records no publication at some destination,
	// which may hold the file anyway (seeded by rsync, cp -a or DataSync,
	// or by an agent whose manifest was lost or moved aside).
	probeAdopt
	// probeCheck: the file is unchanged and recorded, and
	// check_destination asks that each destination still hold it.
	probeCheck
)

// freshDirs remembers, per destination, the directories this run found
// missing there: nothing below them can exist yet, so their files are sent
// without a stat first, and a first copy into an empty destination costs
// one stat per directory, not one per file.
type freshDirs struct{ m sync.Map }

type freshKey struct {
	dest int
	dir  string
}

func (f *freshDirs) add(dest int, dir string) { f.m.Store(freshKey{dest, dir}, struct{}{}) }

// under reports whether rel's parent directory was missing at dest.
func (f *freshDirs) under(dest int, rel string) bool {
	if rel == "" {
		return false
	}
	_, ok := f.m.Load(freshKey{dest, path.Dir(rel)})
	return ok
}

// emptyDirProber is a destination without directories (S3) that tells with
// one request whether anything is stored below a directory, so a first copy
// into an empty prefix costs one request per directory there too, not a
// stat per file.
type emptyDirProber interface {
	EmptyDir(ctx context.Context, rel string) (bool, error)
}

// emptyAt reports whether destination i can show that nothing is stored
// below directory rel. Any doubt (no such ability, an error) is false: the
// files are then probed one by one.
func (j *jobRun) emptyAt(ctx context.Context, i int, rel string) bool {
	p, ok := transfer.As[emptyDirProber](j.dests[i].d)
	if !ok {
		return false
	}
	empty, err := p.EmptyDir(ctx, rel)
	return err == nil && empty
}

// probeRoots asks each destination without directories whether its root
// holds anything, once per pass: files at the top of the source have no
// directory task of their own, so without it each of them would be probed
// for an object to adopt. Nothing is asked when adoption is off.
func (j *jobRun) probeRoots(ctx context.Context) {
	if j.job.Adopt == config.AdoptOff {
		return
	}
	for i := range j.dests {
		if _, isDirMaker := transfer.As[transfer.DirMaker](j.dests[i].d); !isDirMaker && j.emptyAt(ctx, i, ".") {
			j.fresh.add(i, ".")
		}
	}
}

// adopts reports whether a probe may find any of dests already holding
// the entry: adoption is on and some of them have no publication recorded.
func (j *jobRun) adopts(t task) bool {
	if j.job.Adopt == config.AdoptOff {
		return false
	}
	for _, i := range t.act.Dests {
		if j.unrecorded(t, i) {
			return true
		}
	}
	return false
}

// unrecorded reports whether dest i has no publication of t's entry in the
// manifest and may hold it (its directory was not found missing).
func (j *jobRun) unrecorded(t task, i int) bool {
	if _, ok := t.prev.Dests.Get(j.names[i]); ok {
		return false
	}
	return !j.fresh.under(i, t.e.Rel)
}

// probe stats the destinations of a file task and sends the file only to
// those that do not hold it. Adopted destinations are recorded as
// published, with nothing written to them.
func (j *jobRun) probe(ctx context.Context, t task) result {
	var held []outcome
	var need []int
	var src sourceHash
	for _, i := range t.act.Dests {
		if t.probe == probeAdopt && !j.unrecorded(t, i) {
			need = append(need, i)
			continue
		}
		why := j.destHolds(ctx, i, t, &src)
		if why == "" {
			held = append(held, outcome{dest: i, status: StatusAdopted})
			continue
		}
		if t.probe == probeCheck {
			j.log.Warn("destination no longer holds what the manifest records; sending again",
				"path", t.e.Rel, "dest", j.names[i], "why", why)
		}
		need = append(need, i)
	}
	if t.probe == probeCheck {
		held = nil // recorded already: nothing to add
	}
	if len(need) == 0 {
		if len(held) == 0 {
			// Unchanged after all: counted and reported as any skip (once,
			// not on every watch-mode rescan).
			j.skipped(t.e.Rel, true)
			return result{rel: t.e.Rel, kind: plan.KindSkip, status: StatusSkipped, file: true, reported: true}
		}
		rec := baseRecord(t, t.e.Mode)
		rec.Hash = src.sum
		j.settle(&rec, held, j.a.opts.Now())
		if t.st.Nlink > 1 {
			// Further names of the file are linked to this one.
			j.linkMu.Lock()
			j.linkHash[[2]uint64{t.st.Dev, t.st.Ino}] = rec.Hash
			j.linkMu.Unlock()
		}
		return result{rel: t.e.Rel, kind: plan.KindAdopt, rec: rec, put: true, status: StatusAdopted, outs: held, file: true}
	}
	t.act.Dests = need
	r := j.copyFile(ctx, t)
	r.kind = plan.KindCopy
	if r.put && len(held) > 0 {
		j.settle(&r.rec, held, j.a.opts.Now())
		r.outs = append(r.outs, held...)
	}
	return r
}

// sourceHash is the BLAKE3 of a task's source, read at most once however
// many destinations adopt: verify compares it with.
type sourceHash struct {
	sum  [32]byte
	err  error
	done bool
}

func (h *sourceHash) get(abs string) ([32]byte, error) {
	if !h.done {
		h.sum, h.err = hashFile(abs)
		h.done = true
	}
	return h.sum, h.err
}

// destHolds reports why destination i does not hold t's file as the walk
// saw it: "" when it does (a regular file of the same size, mtime and
// permissions where the destination keeps them; with adopt: verify, also
// the same BLAKE3 on both sides).
func (j *jobRun) destHolds(ctx context.Context, i int, t task, src *sourceHash) string {
	d := j.dests[i].d
	got, err := d.Stat(ctx, t.e.Rel)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "missing"
	case err != nil:
		return "unreadable: " + err.Error()
	case got.Mode.Type() != 0:
		return fmt.Sprintf("type is %s, source has a regular file", got.Mode.Type())
	case got.Size != t.st.Size:
		return fmt.Sprintf("size is %d, source has %d", got.Size, t.st.Size)
	case got.Mode.Perm() != 0 && got.Mode.Perm() != t.e.Mode.Perm():
		// What verify would report as different is not adopted either.
		return fmt.Sprintf("mode is %v, source has %v", got.Mode.Perm(), t.e.Mode.Perm())
	case !sameMTime(got.ModTime, t.st.Mtime):
		return fmt.Sprintf("mtime is %s, source has %s", got.ModTime.Format(time.RFC3339Nano), t.st.Mtime.Format(time.RFC3339Nano))
	}
	if t.probe != probeAdopt {
		return ""
	}
	// The record of an adopted file carries the source's BLAKE3 where a
	// later step relies on it: checksum re-hashes compare with it, and
	// archiving removes a source only after the copy matches it, so such
	// jobs also read the copy back, as adopt: verify does.
	readBack := j.job.Adopt == config.AdoptVerify || policy.Archives(j.job)
	if !readBack && !j.job.Checksum {
		return ""
	}
	sum, err := src.get(t.e.Abs())
	if err != nil {
		return "source unreadable: " + err.Error()
	}
	if !readBack {
		return ""
	}
	m := transfer.Meta{Size: t.st.Size, ModTime: t.st.Mtime, Hash: sum[:]}
	if err := send.VerifyAt(ctx, d, t.e.Rel, m, true); err != nil {
		return err.Error()
	}
	return ""
}

// sameMTime compares a destination's mtime with the source's. A file
// system that keeps whole seconds holds the source's time truncated.
func sameMTime(dst, src time.Time) bool {
	if dst.Equal(src) {
		return true
	}
	return dst.Nanosecond() == 0 && dst.Equal(src.Truncate(time.Second))
}

// mkdirAdopting creates a directory at the destinations that lack it, and
// adopts it where a directory with the source's permissions is already
// there. A directory found missing is remembered: its files need no probe.
func (j *jobRun) mkdirAdopting(ctx context.Context, t task) result {
	if j.job.Adopt == config.AdoptOff {
		return j.mkdir(ctx, t)
	}
	var held []outcome
	rest := t.act.Dests[:0:0]
	for _, i := range t.act.Dests {
		_, isDirMaker := transfer.As[transfer.DirMaker](j.dests[i].d)
		if !isDirMaker || !j.unrecorded(t, i) {
			if j.fresh.under(i, t.e.Rel) || !isDirMaker && j.unrecorded(t, i) && j.emptyAt(ctx, i, t.e.Rel) {
				j.fresh.add(i, t.e.Rel)
			}
			rest = append(rest, i)
			continue
		}
		got, err := j.dests[i].d.Stat(ctx, t.e.Rel)
		switch {
		case err == nil && got.Mode.IsDir() && got.Mode&dirModeBits == t.e.Mode&dirModeBits:
			held = append(held, outcome{dest: i, status: StatusAdopted})
			continue
		case errors.Is(err, fs.ErrNotExist):
			j.fresh.add(i, t.e.Rel)
		}
		rest = append(rest, i)
	}
	t.act.Dests = rest
	r := j.mkdir(ctx, t)
	if len(held) > 0 {
		j.settle(&r.rec, held, j.a.opts.Now())
		r.outs = append(r.outs, held...)
	}
	return r
}

// dirModeBits are the bits of a directory's mode that mkdir sets.
const dirModeBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky
