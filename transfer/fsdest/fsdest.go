// Package fsdest replicates into a mounted directory: an EFS or NFS mount in
// production, any local directory in tests. It publishes each file with a
// hidden temp file, fsync and rename, so a reader of the destination sees
// either the previous version or the whole new one, and it batches the
// directory fsyncs that make those renames durable.
package fsdest

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/efssync/efssync/transfer"
)

// TempPrefix starts the name of every temp file fsdest creates. Cleanup
// removes files with this prefix; List never reports them.
const TempPrefix = ".efssync-tmp-"

// Options tune how files are published.
type Options struct {
	// Xattrs copies Meta.Xattrs onto published files.
	Xattrs bool
	// Chown applies Meta.UID/GID; it only works as root.
	Chown bool
	// Progressive writes files in place under their final name, for
	// consumers that read growing files. Readers may see partial content.
	Progressive bool
	// TempTag names the agent in its temp files (.efssync-tmp-TAG-...), so
	// Cleanup removes only this agent's leftovers, never the files another
	// agent (a shard writing into the same tree) is still writing.
	TempTag string
	// ResumeEvery, when > 0, makes every file of at least that size
	// resumable (see resume.go): written under a kept name, made durable
	// every ResumeEvery bytes, and continued by Begin from its checkpoint.
	ResumeEvery int64
}

// Dest is a mounted-directory destination. It is safe for concurrent use.
type Dest struct {
	name string
	root string
	opts Options

	umask      uint32 // the process umask, read once in New
	tempPrefix string // TempPrefix and the agent's tag
	// euid and egid own the files this process creates; a chown to them
	// is skipped. Under a setgid root new files take the directory's
	// group instead, so there egid is -1 and the chown always happens.
	euid, egid int

	dirs dirFDs // directories being written into

	mu    sync.Mutex
	dirty map[string]struct{} // directories (relative) with renames not yet fsynced
	known map[string]struct{} // directories (relative) known to exist
}

// New returns a destination rooted at root, which must exist: a missing
// root usually means an unmounted file system, and creating it would fill the
// mount point's parent instead.
//
// A root that is itself a symlink (/mnt/efs/home -> /mnt/efs-vol1/home) is
// the operator's choice: it is resolved here, once, and every operation
// works on the resolved directory. Nothing below the root is ever
// resolved through a symlink.
func New(name, root string, opts Options) (*Dest, error) {
	resolved, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("destination %s: %w", root, err)
	}
	root = resolved
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("destination %s: %w", root, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("destination %s: not a directory", root)
	}
	// Reading the umask means setting it; New runs before any file is
	// created, so the brief change is seen by nobody.
	umask := uint32(unix.Umask(0o022))
	unix.Umask(int(umask))
	egid := os.Getegid()
	if st.Mode()&fs.ModeSetgid != 0 {
		egid = -1
	}
	prefix := TempPrefix
	if opts.TempTag != "" {
		prefix += opts.TempTag + "-"
	}
	d := &Dest{name: name, root: root, opts: opts, umask: umask, euid: os.Geteuid(), egid: egid, tempPrefix: prefix,
		dirty: map[string]struct{}{}, known: map[string]struct{}{".": {}}}
	d.dirs.openDir = d.openDir
	return d, nil
}

// Name implements transfer.Destination.
func (d *Dest) Name() string { return d.name }

// Root is the directory files are published under, with symlinks in its
// own path resolved.
func (d *Dest) Root() string { return d.root }

func (d *Dest) abs(rel string) (string, error) {
	if rel == "" || rel == "." {
		return d.root, nil
	}
	if strings.HasPrefix(rel, "/") || rel != path.Clean(rel) || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%s: invalid relative path %q", d.root, rel)
	}
	return filepath.Join(d.root, filepath.FromSlash(rel)), nil
}

// ensureDir makes sure the directory dirRel exists, creating missing ones
// with mode 0755, component by component below the root without following
// a symlink (one found in the way is replaced by a directory: the source
// has a directory there). The agent normally creates directories first
// with the source's modes through Mkdir; this is the fallback.
func (d *Dest) ensureDir(dirRel string) error {
	d.mu.Lock()
	_, ok := d.known[dirRel]
	d.mu.Unlock()
	if ok {
		return nil
	}
	root, err := d.dirs.acquire(".", d.root)
	if err != nil {
		return fmt.Errorf("open destination root %s: %w", d.root, classify(err))
	}
	fd, err := mkdirBeneath(root.fd, dirRel, 0o755, func(made string) { d.markDirty(path.Dir(made)) })
	d.dirs.release(root)
	if err != nil {
		return fmt.Errorf("create directory %s: %w", d.absOf(dirRel), classify(err))
	}
	_ = unix.Close(fd)
	d.markKnown(dirRel)
	return nil
}

// absOf is rel's absolute path, for messages.
func (d *Dest) absOf(rel string) string {
	if rel == "." || rel == "" {
		return d.root
	}
	return d.root + "/" + rel
}

// openDir opens the directory rel below the root as O_PATH, never through
// a symlink: it is how the descriptor cache opens what it lacks.
func (d *Dest) openDir(rel string) (int, error) {
	if rel == "." {
		return openat(unix.AT_FDCWD, d.root, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	}
	root, err := d.dirs.acquire(".", d.root)
	if err != nil {
		return -1, err
	}
	defer d.dirs.release(root)
	return openBeneath(root.fd, rel, unix.O_PATH|unix.O_DIRECTORY, 0)
}

// parent acquires the directory holding rel and returns rel's last
// component. The caller releases the directory.
func (d *Dest) parent(rel string) (*dirFD, string, error) {
	dir := path.Dir(rel)
	f, err := d.dirs.acquire(dir, d.absOf(dir))
	if err != nil {
		return nil, "", fmt.Errorf("open directory %s: %w", d.absOf(dir), classify(err))
	}
	return f, path.Base(rel), nil
}

func (d *Dest) markKnown(dirRel string) {
	d.mu.Lock()
	for r := dirRel; ; r = path.Dir(r) {
		if _, ok := d.known[r]; ok {
			break
		}
		d.known[r] = struct{}{}
		if r == "." || r == "/" {
			break
		}
	}
	d.mu.Unlock()
}

func (d *Dest) markDirty(dirRel string) {
	d.mu.Lock()
	d.dirty[dirRel] = struct{}{}
	d.mu.Unlock()
}

// tempName is a fresh hidden temp file name, built in one allocation: it
// is made for every file.
func (d *Dest) tempName() string {
	var r [8]byte
	_, _ = rand.Read(r[:])
	var h [16]byte
	hex.Encode(h[:], r[:])
	var b strings.Builder
	b.Grow(len(d.tempPrefix) + len(h))
	b.WriteString(d.tempPrefix)
	b.Write(h[:])
	return b.String()
}

// Begin implements transfer.Destination. The file is created under a hidden
// temp name in its target directory (or in place when Progressive), already
// with its final permission bits where the umask allows, to save a chmod.
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
	if d.opts.Progressive {
		u.inPlace, u.name = true, u.base
		flags |= unix.O_TRUNC
	} else {
		u.name = d.tempName()
		flags |= unix.O_EXCL
		if d.resumable(m.Size) {
			u.name, u.every = d.partName(), d.opts.ResumeEvery
		}
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
	u.created = perm &^ d.umask
	return u, nil
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
	created uint32 // permission bits the file was created with
	end     int64  // highest offset written, holes left for zeros included
	written int64  // highest offset actually written
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
// has dropped its temp file, so the whole file must be sent again. The
// directory fsync that makes the rename durable waits for Sync.
func (u *upload) Commit(_ context.Context, m transfer.Meta) error {
	if u.fd < 0 {
		return fmt.Errorf("publish %s: upload already finished", u.final)
	}
	err := u.finish(m)
	if cerr := unix.Close(u.fd); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", u.final, cerr)
	}
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
			return fmt.Errorf("publish %s: %w", u.final, err)
		}
	}
	u.d.markDirty(u.dir.rel)
	return nil
}

func (u *upload) finish(m transfer.Meta) error {
	fd := u.fd
	// The size check counts what the writes acknowledged rather than
	// asking the file system: on a network mount a stat is a round trip.
	if !u.d.opts.Progressive && u.end != m.Size {
		return fmt.Errorf("%s: %d bytes written, want %d", u.final, u.end, m.Size)
	}
	// Progressive files are cut to the size; a file ending in a hole is
	// extended to it.
	if u.d.opts.Progressive || u.end > u.written {
		if err := unix.Ftruncate(fd, m.Size); err != nil {
			return fmt.Errorf("truncate %s: %w", u.final, err)
		}
	}
	if u.d.opts.Chown && m.UID >= 0 && m.GID >= 0 && (m.UID != u.d.euid || m.GID != u.d.egid) {
		if err := unix.Fchown(fd, m.UID, m.GID); err != nil {
			return fmt.Errorf("chown %s: %w", u.final, err)
		}
	}
	// chown clears set-id bits, and the umask may have cleared others.
	if mode := unixMode(m.Mode); mode != u.created || mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
		if err := unix.Fchmod(fd, mode); err != nil {
			return fmt.Errorf("chmod %s: %w", u.final, err)
		}
	}
	if u.d.opts.Xattrs {
		for k, v := range m.Xattrs {
			if err := unix.Fsetxattr(fd, k, v, 0); err != nil {
				return fmt.Errorf("set xattr %s on %s: %w", k, u.final, err)
			}
		}
	}
	if !m.ModTime.IsZero() {
		if err := futimens(fd, m.ModTime); err != nil {
			return fmt.Errorf("set mtime of %s: %w", u.final, err)
		}
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

// futimens sets atime and mtime through the descriptor with nanosecond
// precision, saving a path lookup on a network mount.
func futimens(fd int, t time.Time) error {
	ts := [2]unix.Timespec{unix.NsecToTimespec(t.UnixNano()), unix.NsecToTimespec(t.UnixNano())}
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func unixMode(m fs.FileMode) uint32 {
	mode := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= unix.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		mode |= unix.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		mode |= unix.S_ISVTX
	}
	return mode
}

// classify marks errors a network mount may clear on its own as retriable.
func classify(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case unix.EIO, unix.ETIMEDOUT, unix.ESTALE, unix.EAGAIN, unix.EINTR:
			return transfer.Retriable(err)
		}
	}
	return err
}
