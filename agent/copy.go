package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"time"

	"github.com/zeebo/blake3"
	"golang.org/x/sys/unix"

	"github.com/efssync/efssync/transfer"
)

// minResumable is the smallest file worth looking up an upload checkpoint
// for: below S3's minimum part size nothing is ever multipart.
const minResumable = 5 << 20

// smallFile is the size below which a file is read with a small buffer.
const smallFile = 64 << 10

// ErrChanged marks a source file that changed while it was read. It is not
// published; the next run copies it again.
var ErrChanged = errors.New("source changed while it was copied")

// fstatFD returns what the manifest compares, and the file's mode.
func fstatFD(fd int) (stat, fs.FileMode, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return stat{}, 0, err
	}
	return statOfUnix(&st), fileMode(st.Mode), nil
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

// fanout runs fn for each index in parallel, so
// one slow destination does not serialise the others.
func fanout(n int, fn func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { fn(i) })
	}
	wg.Wait()
}

// uploads is one file's uploads, one per destination that needs it. Its
// methods fan out with every argument a parameter, so the closures (and
// what they capture) are only allocated when there are several
// destinations: with one, a small file's copy costs five allocations less.
type uploads []*destUpload

func (us uploads) write(ctx context.Context, off int64, p []byte) {
	if len(us) == 1 {
		us[0].write(ctx, off, p)
		return
	}
	fanout(len(us), func(k int) { us[k].write(ctx, off, p) })
}

func (us uploads) abort(ctx context.Context) {
	if len(us) == 1 {
		us[0].abort(ctx)
		return
	}
	fanout(len(us), func(k int) { us[k].abort(ctx) })
}

func (us uploads) commit(ctx context.Context, m transfer.Meta) {
	if len(us) == 1 {
		us[0].commit(ctx, m)
		return
	}
	fanout(len(us), func(k int) { us[k].commit(ctx, m) })
}

func (us uploads) verify(ctx context.Context, m transfer.Meta, content bool) {
	if len(us) == 1 {
		us[0].verify(ctx, m, content)
		return
	}
	fanout(len(us), func(k int) { us[k].verify(ctx, m, content) })
}

// beginAll starts the upload of t to each of its destinations.
func (j *jobRun) beginAll(ctx context.Context, t task, m transfer.Meta) uploads {
	us := make(uploads, len(t.act.Dests))
	if len(us) == 1 {
		us[0] = j.begin(ctx, t, m, t.act.Dests[0])
		return us
	}
	fanout(len(us), func(k int) { us[k] = j.begin(ctx, t, m, t.act.Dests[k]) })
	return us
}

// copyFile reads the source once, hashes every chunk and writes it to every
// destination that needs it, then publishes where all bytes arrived and the
// source held still during the read.
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
	fd, err := openSourceFD(t.e.Abs())
	j.c.opened.Add(1)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			j.c.vanished.Add(1)
			return result{rel: rel, status: StatusVanished, err: fmt.Errorf("%s: vanished before it was read", t.e.Abs())}, false
		}
		if errors.Is(err, unix.ELOOP) {
			return result{rel: rel, status: StatusChanged, err: fmt.Errorf("%s: %w (a symlink now, not followed); it will be copied on the next run", t.e.Abs(), ErrChanged)}, false
		}
		return result{rel: rel, status: StatusFailed, err: fmt.Errorf("open %s: %w", t.e.Abs(), err)}, false
	}
	defer unix.Close(fd)
	mode := t.e.Mode
	if !trustWalk {
		var st stat
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
	if j.job.Xattrs {
		m.Xattrs = readXattrs(fd)
	}

	ups := j.beginAll(ctx, t, m)
	h, _ := j.hashers.Get().(*blake3.Hasher)
	if h == nil {
		h = blake3.New()
	}
	h.Reset()
	defer j.hashers.Put(h)
	pool := j.pool
	if t.st.size < smallFile && j.small.Size() < pool.Size() {
		pool = j.small // 64 workers × 1 MiB of zeroed buffers is waste for small files
	}
	bp := pool.Get()
	defer pool.Put(bp)
	buf := *bp
	var off int64
	var rerr error
	for {
		if off == t.st.size {
			// All the bytes fstat promised: the stability check below
			// notices a writer that appended, so no read for EOF.
			break
		}
		n, err := readFD(fd, buf)
		if n == 0 && err == nil {
			err = io.EOF
		}
		if n > 0 {
			_, _ = h.Write(buf[:n])
			ups.write(ctx, off, buf[:n])
			off += int64(n)
			j.c.read.Add(int64(n))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			rerr = fmt.Errorf("read %s: %w", t.e.Abs(), err)
			break
		}
		if ctx.Err() != nil {
			rerr = ctx.Err()
			break
		}
	}
	if rerr == nil && j.afterRead != nil {
		j.afterRead(rel)
	}
	if rerr == nil || trustWalk && ctx.Err() == nil {
		// With the walk's stat a read error may also mean another file (a
		// FIFO opened without blocking, a truncated file): the stat tells.
		if serr := j.checkStable(fd, t, mode, off); serr != nil {
			if trustWalk {
				ups.abort(ctx)
				j.c.read.Add(-off) // read again by the next attempt; count it once
				return result{}, true
			}
			rerr = serr
		}
	}
	if rerr != nil {
		ups.abort(ctx)
		status := StatusFailed
		if errors.Is(rerr, ErrChanged) {
			status = StatusChanged
		}
		return result{rel: rel, status: status, err: rerr, bytes: off}, false
	}
	var sum [32]byte
	h.Sum(sum[:0])
	m.Hash = sum[:]
	m.Size = off
	ups.commit(ctx, m)
	if j.job.Verify != "none" {
		ups.verify(ctx, m, j.job.Verify == "all")
	}

	rec := baseRecord(t, mode)
	rec.Hash = sum
	outs := make([]outcome, len(ups))
	for k, u := range ups {
		outs[k] = outcome{dest: u.idx, status: StatusCopied, err: u.err, bytes: off}
		if u.err != nil {
			outs[k].status = StatusFailed
		}
	}
	j.settle(&rec, outs, j.a.opts.Now())
	if t.st.nlink > 1 {
		j.linkMu.Lock()
		j.linkHash[[2]uint64{t.st.dev, t.st.ino}] = sum
		j.linkMu.Unlock()
	}
	r := result{rel: rel, rec: rec, put: true, status: StatusCopied, outs: outs, bytes: off}
	if j.job.AfterArchive == "delete" && len(rec.Dests) == len(j.dests) {
		// Published everywhere: hand the file to the archive step, which
		// verifies once more and removes the source.
		defer func() { j.deliver(j.archive(ctx, t, sum)) }()
	}
	return r, false
}

// checkStable compares the file after the read with the file before it: a
// writer that appended, truncated or rewrote it, or another file put in its
// place, invalidates the copy.
func (j *jobRun) checkStable(fd int, t task, mode fs.FileMode, read int64) error {
	after, amode, err := fstatFD(fd)
	if err != nil {
		return fmt.Errorf("stat %s: %w", t.e.Abs(), err)
	}
	if read != t.st.size || after.size != t.st.size || !after.mtime.Equal(t.st.mtime) || !after.ctime.Equal(t.st.ctime) ||
		after.ino != t.st.ino || after.dev != t.st.dev || amode != mode {
		return fmt.Errorf("%s: %w (size %d→%d, read %d bytes); it will be copied on the next run",
			t.e.Abs(), ErrChanged, t.st.size, after.size, read)
	}
	return nil
}

// rehash is the checksum mode's check of a file that looks unchanged: it
// is read and hashed, and copied only if the content differs.
func (j *jobRun) rehash(ctx context.Context, t task) result {
	f, err := openSource(t.e.Abs())
	j.c.opened.Add(1)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return result{rel: t.e.Rel, status: StatusVanished}
		}
		return result{rel: t.e.Rel, status: StatusFailed, err: fmt.Errorf("open %s: %w", t.e.Abs(), err)}
	}
	sum, err := hashAll(f)
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

// destUpload is one file's upload to one destination and its first error.
type destUpload struct {
	j       *jobRun
	idx     int
	rel     string
	up      transfer.Upload
	err     error
	resumed bool
	parts   int
	t       task
}

func (j *jobRun) begin(ctx context.Context, t task, m transfer.Meta, idx int) *destUpload {
	u := &destUpload{j: j, idx: idx, rel: t.e.Rel, t: t}
	d := j.dests[idx]
	var cp *transfer.Checkpoint
	if t.st.size >= minResumable && !j.a.opts.DryRun {
		c, err := j.a.db.GetCheckpoint(j.job.Name, d.name, t.e.Rel)
		switch {
		case err != nil || c == nil:
		case c.SourceSize == t.st.size && c.SourceModTime.Equal(t.st.mtime):
			cp = c
			u.resumed = true
			u.parts = len(c.Parts)
		default:
			// Another version of the file: its upload is not resumable.
			if old, err := d.d.Begin(ctx, t.e.Rel, m, c); err == nil {
				_ = old.Abort(ctx)
			}
			_ = j.a.db.DeleteCheckpoint(j.job.Name, d.name, t.e.Rel)
		}
	}
	u.up, u.err = d.d.Begin(ctx, t.e.Rel, m, cp)
	if u.err != nil {
		u.err = fmt.Errorf("%s: begin %s: %w", d.name, t.e.Rel, u.err)
	}
	return u
}

func (u *destUpload) write(ctx context.Context, off int64, p []byte) {
	if u.err != nil {
		return
	}
	if err := u.up.Write(ctx, off, p); err != nil {
		u.err = fmt.Errorf("%s: %w", u.j.names[u.idx], err)
		if !u.keepForResume(ctx) {
			_ = u.up.Abort(context.WithoutCancel(ctx))
		}
		return
	}
	if cp := u.up.Checkpoint(); cp != nil && len(cp.Parts) != u.parts && !u.j.a.opts.DryRun {
		u.parts = len(cp.Parts)
		cp.SourceSize, cp.SourceModTime = u.t.st.size, u.t.st.mtime
		if err := u.j.a.db.PutCheckpoint(u.j.job.Name, u.j.names[u.idx], u.rel, cp); err != nil {
			u.j.log.Warn("could not checkpoint upload; a crash will restart it", "path", u.rel, "error", err)
		}
	}
}

func (u *destUpload) abort(ctx context.Context) {
	if u.up != nil && u.err == nil && !u.keepForResume(ctx) {
		_ = u.up.Abort(context.WithoutCancel(ctx))
	}
}

// keepForResume reports whether an interrupted upload should stay for the
// next run: on shutdown (SIGTERM) a checkpointed multipart upload is left in
// place, so the next run sends only the parts it lacks.
func (u *destUpload) keepForResume(ctx context.Context) bool {
	return ctx.Err() != nil && !u.j.a.opts.DryRun && u.up.Checkpoint() != nil
}

func (u *destUpload) commit(ctx context.Context, m transfer.Meta) {
	if u.err != nil {
		return
	}
	if err := u.up.Commit(ctx, m); err != nil {
		u.err = fmt.Errorf("%s: publish %s: %w", u.j.names[u.idx], u.rel, err)
		_ = u.up.Abort(context.WithoutCancel(ctx))
		return
	}
	if (u.parts > 0 || u.resumed) && !u.j.a.opts.DryRun {
		_ = u.j.a.db.DeleteCheckpoint(u.j.job.Name, u.j.names[u.idx], u.rel)
	}
}

// verify re-checks what was published: size and mtime (and the hash when
// the destination stores one), or with all the content itself.
func (u *destUpload) verify(ctx context.Context, m transfer.Meta, content bool) {
	if u.err != nil || u.j.a.opts.DryRun {
		return
	}
	if _, ok := transfer.As[transfer.CommitVerifier](u.j.dests[u.idx].d); ok && !content {
		return
	}
	if err := verifyAt(ctx, u.j.dests[u.idx].d, u.rel, m, content); err != nil {
		u.err = fmt.Errorf("%s: verify %s: %w", u.j.names[u.idx], u.rel, err)
	}
}

// verifyAt compares what d holds under rel with m.
func verifyAt(ctx context.Context, d transfer.Destination, rel string, m transfer.Meta, content bool) error {
	got, err := d.Stat(ctx, rel)
	if err != nil {
		return err
	}
	if got.Size != m.Size {
		return fmt.Errorf("size is %d, source has %d", got.Size, m.Size)
	}
	if !got.ModTime.IsZero() && got.ModTime.Sub(m.ModTime).Abs() >= time.Second {
		return fmt.Errorf("mtime is %s, source has %s", got.ModTime.Format(time.RFC3339Nano), m.ModTime.Format(time.RFC3339Nano))
	}
	if len(got.Hash) > 0 && len(m.Hash) > 0 && !bytes.Equal(got.Hash, m.Hash) {
		return fmt.Errorf("stored BLAKE3 %x differs from the source's %x", got.Hash, m.Hash)
	}
	if !content {
		return nil
	}
	op, ok := transfer.As[transfer.Opener](d)
	if !ok {
		return nil
	}
	sum, err := hashReader(ctx, op, rel)
	if err != nil {
		return err
	}
	if !bytes.Equal(sum[:], m.Hash) {
		return fmt.Errorf("content BLAKE3 %x differs from the source's %x", sum, m.Hash)
	}
	return nil
}

func hashReader(ctx context.Context, op transfer.Opener, rel string) ([32]byte, error) {
	r, err := op.Open(ctx, rel)
	if err != nil {
		return [32]byte{}, err
	}
	defer r.Close()
	sum, err := hashAll(r)
	if err != nil {
		return sum, fmt.Errorf("read back %s: %w", rel, err)
	}
	return sum, nil
}

// hashAll is the BLAKE3 of everything r holds.
func hashAll(r io.Reader) ([32]byte, error) {
	var sum [32]byte
	h := blake3.New()
	if _, err := io.CopyBuffer(h, r, make([]byte, 256<<10)); err != nil {
		return sum, err
	}
	h.Sum(sum[:0])
	return sum, nil
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
