package fsdest

import (
	"context"
	"encoding/binary"
	"fmt"
	"path"

	"golang.org/x/sys/unix"

	"github.com/efssync/efssync/transfer"
)

// Begin implements transfer.Destination. The file is created under a hidden
// temp name in its target directory, already with its final permission
// bits where the umask allows, to save a chmod. When Progressive, the new
// file is renamed over the final name before its first byte, so readers
// see it grow there; whatever the name held before (a hard link to a file
// elsewhere, a file of another owner or mode) is replaced, never written
// through.
func (d *Dest) Begin(ctx context.Context, rel string, m transfer.Meta, resume *transfer.Checkpoint) (transfer.Upload, error) {
	final, err := d.abs(rel)
	if err != nil {
		return nil, err
	}
	dirRel := path.Dir(rel)
	if err := d.ensureDir(dirRel); err != nil {
		return nil, err
	}
	u := &upload{d: d, rel: rel, final: final, base: path.Base(rel), fd: -1}
	perm := uint32(m.Mode.Perm())
	if perm == 0 {
		perm = 0o600
	}
	// O_NOFOLLOW: a symlink under the final name is never written through.
	flags := unix.O_WRONLY | unix.O_CREAT | unix.O_CLOEXEC | unix.O_NOFOLLOW
	u.name = d.tempName()
	flags |= unix.O_EXCL
	if d.resumable(m.Size) {
		u.name, u.every = d.partName(), d.opts.ResumeEvery
	}
	u.dir, err = d.dirs.acquire(dirRel, d.absOf(dirRel))
	if err == nil && u.every > 0 && d.reopen(u, d.absOf(dirRel), resume) {
		return u, nil
	}
	if err == nil {
		u.fd, err = openat(u.dir.fd, u.name, flags, perm)
		if err == unix.ENOENT {
			// The directory may have been removed, and made again, since
			// its descriptor was opened: look it up afresh once.
			d.dirs.release(u.dir)
			d.dirs.forget(dirRel)
			if u.dir, err = d.dirs.acquire(dirRel, d.absOf(dirRel)); err == nil {
				u.fd, err = openat(u.dir.fd, u.name, flags, perm)
			}
		}
		if err != nil && u.dir != nil {
			d.dirs.release(u.dir)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", d.absOf(path.Join(dirRel, u.name)), classify(symlinkErr(err)))
	}
	u.have = owned{mode: perm &^ d.umask, uid: d.euid, gid: d.egid}
	if d.opts.Progressive && (d.opts.Atomic == nil || !d.opts.Atomic(rel)) {
		if err := u.publishEmpty(); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// publishEmpty renames the freshly created, still empty file of a
// progressive upload over its final name, where it is then written in
// place.
func (u *upload) publishEmpty() error {
	if err := unix.Renameat(u.dir.fd, u.name, u.dir.fd, u.base); err != nil {
		_ = unix.Unlinkat(u.dir.fd, u.name, 0)
		_ = unix.Close(u.fd)
		u.fd = -1
		u.done()
		return fmt.Errorf("publish %s: %w", u.final, classify(err))
	}
	u.inPlace, u.name = true, u.base
	u.d.markDirty(u.dir.rel)
	return nil
}

// upload writes through a raw descriptor: an *os.File would cost four
// fcntl calls and a failed epoll registration per file, for nothing.
type upload struct {
	d     *Dest
	rel   string
	final string
	// The file is written as name in dir (released when the upload
	// ends) and renamed to base, unless it is written inPlace.
	dir     *dirFD
	name    string
	base    string
	inPlace bool
	fd      int
	have    owned // the mode and owner the file was created with
	end     int64 // highest offset written, holes left for zeros included
	written int64 // highest offset actually written
	resumeState
}

// tmp is the path the upload writes to, for messages.
func (u *upload) tmp() string { return u.dir.path + "/" + u.name }

// done gives the directory back; the upload must not touch it afterwards.
func (u *upload) done() {
	if u.dir != nil {
		u.d.dirs.release(u.dir)
		u.dir = nil
	}
}

// Write writes p at off. An all-zero p over a range this upload never
// wrote is not written at all: the file was created empty, so the range
// reads as zeros already, and a sparse source keeps its holes (the size
// is set at Commit). The check stops at the first non-zero word, so data
// costs next to nothing.
func (u *upload) Write(_ context.Context, off int64, p []byte) error {
	if u.fd < 0 {
		return fmt.Errorf("write %s: upload already finished", u.final)
	}
	if off < u.held { // already in the resumed temp file
		k := min(int64(len(p)), u.held-off)
		p, off = p[k:], off+k
	}
	if off >= u.written && allZero(p) {
		u.end = max(u.end, off+int64(len(p)))
		return nil
	}
	for len(p) > 0 {
		n, err := unix.Pwrite(u.fd, p, off)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return fmt.Errorf("write %s: %w", u.final, classify(err))
		}
		p, off = p[n:], off+int64(n)
	}
	u.written = max(u.written, off)
	u.end = max(u.end, off)
	return u.syncResumable()
}

// allZero reports whether p holds only zero bytes, a word at a time.
func allZero(p []byte) bool {
	for len(p) >= 8 {
		if binary.NativeEndian.Uint64(p) != 0 {
			return false
		}
		p = p[8:]
	}
	for _, b := range p {
		if b != 0 {
			return false
		}
	}
	return true
}

// Commit applies the metadata through the open descriptor (only what the
// create did not already set), makes the data durable, checks the size, and
// renames into place. Its errors are never marked retriable: a failed Commit
// has dropped its temp file, so the whole file must be sent again. Out of
// space (which NFS may report only at fsync or close) is marked
// transfer.NoSpace. The directory fsync that makes the rename durable waits for Sync.
func (u *upload) Commit(_ context.Context, m transfer.Meta) error {
	if u.fd < 0 {
		return fmt.Errorf("publish %s: upload already finished", u.final)
	}
	err := u.finish(m)
	if cerr := unix.Close(u.fd); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", u.final, cerr)
	}
	err = noSpace(err)
	u.fd = -1
	defer u.done()
	if err != nil {
		if !u.inPlace {
			_ = unix.Unlinkat(u.dir.fd, u.name, 0)
		}
		return err
	}
	if !u.inPlace {
		// Both names in the one open directory: no path walk, and no
		// lstat of the target as os.Rename would make.
		if err := unix.Renameat(u.dir.fd, u.name, u.dir.fd, u.base); err != nil {
			_ = unix.Unlinkat(u.dir.fd, u.name, 0)
			return noSpace(fmt.Errorf("publish %s: %w", u.final, err))
		}
	}
	u.d.markDirty(u.dir.rel)
	return nil
}

func (u *upload) finish(m transfer.Meta) error {
	fd := u.fd
	// The size check counts what the writes acknowledged rather than
	// asking the file system: on a network mount a stat is a round trip.
	if !u.inPlace && u.end != m.Size {
		return fmt.Errorf("%s: %d bytes written, want %d", u.final, u.end, m.Size)
	}
	// Progressive files are cut to the size; a file ending in a hole is
	// extended to it.
	if u.inPlace || u.end > u.written {
		if err := unix.Ftruncate(fd, m.Size); err != nil {
			return fmt.Errorf("truncate %s: %w", u.final, err)
		}
	}
	if err := u.d.applyMeta(fileTarget(fd), u.final, m, u.have); err != nil {
		return err
	}
	if err := unix.Fsync(fd); err != nil {
		return fmt.Errorf("fsync %s: %w", u.final, err)
	}
	return nil
}

// VerifiesCommit implements transfer.CommitVerifier: Commit checks that the
// writes it made cover exactly the file's size.
func (d *Dest) VerifiesCommit() {}

func (u *upload) Abort(context.Context) error {
	if u.fd < 0 {
		return nil
	}
	_ = unix.Close(u.fd)
	u.fd = -1
	defer u.done()
	if u.inPlace {
		return nil // progressive: the partial file stays until the retry overwrites it
	}
	if err := unix.Unlinkat(u.dir.fd, u.name, 0); err != nil && err != unix.ENOENT {
		return fmt.Errorf("remove temp file %s: %w", u.tmp(), err)
	}
	return nil
}
