package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/efssync/efssync/agent/report"
	"github.com/efssync/efssync/agent/walk"

	"golang.org/x/sys/unix"

	"github.com/efssync/efssync/agent/send"
	"github.com/efssync/efssync/manifest"
)

// fstatFD returns what the manifest compares, and the file's mode.
func fstatFD(fd int) (walk.Stat, fs.FileMode, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return walk.Stat{}, 0, err
	}
	return walk.StatOfUnix(&st), walk.FileMode(st.Mode), nil
}

// readFD reads into p, retrying on EINTR; 0 bytes without error is EOF.
func readFD(fd int, p []byte) (int, error) {
	for {
		n, err := unix.Read(fd, p)
		if err == unix.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		return n, err
	}
}

// copyFile reads the source once through the sender, which hashes every
// chunk and writes it to every destination that needs it, then publishes
// where all bytes arrived and the source held still during the read.
//
// The first attempt trusts the walk's lstat instead of asking fstat again:
// the fstat after the read compares the open file with the walked one, and
// that one call catches a change before the open as well as during the read.
// As the two cannot be told apart, a file that differs is copied once more
// with its own fstat at the open, as the walk's view was stale.
func (j *jobRun) copyFile(ctx context.Context, t task) result {
	r, stale := j.copyOnce(ctx, t, true)
	if stale && ctx.Err() == nil {
		r, _ = j.copyOnce(ctx, t, false)
	}
	return r
}

// copyOnce is one attempt of copyFile. With trustWalk it returns stale when
// the file is not the one the walk saw, and publishes nothing.
func (j *jobRun) copyOnce(ctx context.Context, t task, trustWalk bool) (_ result, stale bool) {
	rel := t.e.Rel
	fd, err := walk.OpenFD(t.e.Abs())
	j.c.Opened.Add(1)
	if err != nil {
		return openFailed(rel, t.e.Abs(), err, j.c), false
	}
	defer unix.Close(fd)
	if !j.a.fx.sends() {
		return j.plannedCopy(t), false
	}
	mode := t.e.Mode
	if !trustWalk {
		var st walk.Stat
		st, mode, err = fstatFD(fd)
		if err != nil {
			return result{rel: rel, status: StatusFailed, err: fmt.Errorf("stat %s: %w", t.e.Abs(), err)}, false
		}
		if !mode.IsRegular() {
			return result{rel: rel, status: StatusChanged, err: fmt.Errorf("%s: %w (no longer a regular file)", t.e.Abs(), ErrChanged)}, false
		}
		t.st = st
	}
	m := j.meta(t)
	m.Mode = mode
	// The source and the outcomes in one allocation: a small file's copy
	// is counted in objects.
	sc := &struct {
		src  fileSource
		outs [1]outcome
	}{src: fileSource{fd: fd, abs: t.e.Abs(), st: t.st, mode: mode}}
	if j.wantsHashFirst(t.act.Dests, m) {
		if m.Hash, err = hashFirst(ctx, &sc.src, m.Size, t.e.Abs()); err != nil {
			return result{rel: rel, status: StatusFailed, err: err}, false
		}
	}
	res := j.sender.Send(ctx, send.File{Rel: rel, Meta: m, Dests: t.act.Dests}, j.hook(rel, &sc.src))
	if res.Err != nil {
		// With the walk's stat a read error may also mean another file (a
		// FIFO opened without blocking, a truncated file): the stat tells.
		if trustWalk && ctx.Err() == nil && (errors.Is(res.Err, ErrChanged) ||
			checkStable(fd, t.e.Abs(), t.st, mode, res.Size) != nil) {
			j.c.Read.Add(-res.Size) // read again by the next attempt; count it once
			return result{}, true
		}
		status := StatusFailed
		if errors.Is(res.Err, ErrChanged) {
			status = StatusChanged
		}
		return result{rel: rel, status: status, err: res.Err, bytes: res.Size}, false
	}
	rec := baseRecord(t, mode)
	rec.Hash = res.Sum
	outs := j.outcomes(res, sc.outs[:0])
	j.settle(&rec, outs, j.a.opts.Now())
	if t.st.Nlink > 1 {
		j.linkMu.Lock()
		j.linkHash[[2]uint64{t.st.Dev, t.st.Ino}] = res.Sum
		j.linkMu.Unlock()
	}
	return result{rel: rel, rec: rec, put: true, status: StatusCopied, outs: outs, bytes: res.Size}, false
}

// plannedCopy is a copy a dry run plans: the file was opened, nothing is
// read or sent. A second name of a hard-linked file is then planned as a
// link, as in a real run.
func (j *jobRun) plannedCopy(t task) result {
	if t.st.Nlink > 1 {
		j.linkMu.Lock()
		j.linkHash[[2]uint64{t.st.Dev, t.st.Ino}] = [32]byte{}
		j.linkMu.Unlock()
	}
	return planned(t.e.Rel, baseRecord(t, t.e.Mode), t.act.Dests, t.st.Size)
}

// planned is the result of a copy of size bytes to dests that a dry run
// plans, one outcome per destination, as a real copy reports them.
func planned(rel string, rec manifest.Record, dests []int, size int64) result {
	outs := make([]outcome, len(dests))
	for k, d := range dests {
		outs[k] = outcome{dest: d, status: StatusCopied, bytes: size}
	}
	return result{rel: rel, rec: rec, status: StatusCopied, outs: outs, bytes: size, planned: true}
}

// hook passes src through the injected SourceHook, if any.
func (j *jobRun) hook(rel string, src send.Source) send.Source {
	if j.a.opts.Sources != nil {
		return j.a.opts.Sources.Source(rel, src)
	}
	return src
}

// outcomes appends the sender's per-destination outcomes, as the report
// has them, to outs.
func (j *jobRun) outcomes(res send.Result, outs []outcome) []outcome {
	for _, o := range res.Outs {
		st := StatusCopied
		if o.Err != nil {
			st = StatusFailed
		}
		outs = append(outs, outcome{dest: o.Dest, status: st, err: o.Err, bytes: o.Bytes})
	}
	return outs
}

// openFailed is the result of a source file that could not be opened.
func openFailed(rel, abs string, err error, c *report.Counters) result {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.Vanished.Add(1)
		return result{rel: rel, status: StatusVanished, err: fmt.Errorf("%s: vanished before it was read", abs)}
	case errors.Is(err, unix.ELOOP):
		return result{rel: rel, status: StatusChanged, err: fmt.Errorf("%s: %w (a symlink now, not followed); it will be copied on the next run", abs, ErrChanged)}
	}
	return result{rel: rel, status: StatusFailed, err: fmt.Errorf("open %s: %w", abs, err)}
}

// rehash is the checksum mode's check of a file that looks unchanged: it
// is read and hashed, and copied only if the content differs.
func (j *jobRun) rehash(ctx context.Context, t task) result {
	f, err := walk.Open(t.e.Abs())
	j.c.Opened.Add(1)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return result{rel: t.e.Rel, status: StatusVanished}
		}
		return result{rel: t.e.Rel, status: StatusFailed, err: fmt.Errorf("open %s: %w", t.e.Abs(), err)}
	}
	sum, err := send.HashAll(f)
	f.Close()
	if err != nil {
		return result{rel: t.e.Rel, status: StatusFailed, err: fmt.Errorf("read %s: %w", t.e.Abs(), err)}
	}
	if sum == t.prev.Hash {
		return result{rel: t.e.Rel, status: StatusSkipped, file: true}
	}
	j.log.Warn("content differs although size and times match; copying", "path", t.e.Rel)
	return j.copyFile(ctx, t)
}

// readXattrs returns the extended attributes of the open source file, so
// they belong to the very file being copied, whatever happens to its path;
// a file system without them yields none.
func readXattrs(fd int) map[string][]byte {
	sz, err := unix.Flistxattr(fd, nil)
	if err != nil || sz == 0 {
		return nil
	}
	names := make([]byte, sz)
	sz, err = unix.Flistxattr(fd, names)
	if err != nil {
		return nil
	}
	out := map[string][]byte{}
	for _, name := range bytes.Split(names[:sz], []byte{0}) {
		if len(name) == 0 {
			continue
		}
		n, err := unix.Fgetxattr(fd, string(name), nil)
		if err != nil {
			continue
		}
		v := make([]byte, n)
		n, err = unix.Fgetxattr(fd, string(name), v)
		if err != nil {
			continue
		}
		out[string(name)] = v[:n]
	}
	return out
}
