// Package fsdest replicates into a mounted directory: an EFS or NFS mount in
// production, any local directory in tests. It publishes each file with a
// hidden temp file, fsync and rename, so a reader of the destination sees
// either the previous version or the whole new one, and it batches the
// directory fsyncs that make those renames durable.
package fsdest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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
	dirty map[string]struct{} // directories with renames not yet fsynced
	known map[string]struct{} // directories known to exist
}

// New returns a destination rooted at root, which must exist: a missing
// root usually means an unmounted file system, and creating it would fill the
// mount point's parent instead.
func New(name, root string, opts Options) (*Dest, error) {
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
	return &Dest{name: name, root: root, opts: opts, umask: umask, euid: os.Geteuid(), egid: egid, tempPrefix: prefix,
		dirty: map[string]struct{}{}, known: map[string]struct{}{".": {}}}, nil
}

// Name implements transfer.Destination.
func (d *Dest) Name() string { return d.name }

// Root is the directory files are published under.
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

// ensureDir makes sure the parent directory of rel exists, creating missing
// ones with mode 0755. The agent normally creates directories first with the
// source's modes through Mkdir; this is the fallback.
func (d *Dest) ensureDir(dirRel string) error {
	d.mu.Lock()
	_, ok := d.known[dirRel]
	d.mu.Unlock()
	if ok {
		return nil
	}
	p, err := d.abs(dirRel)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		return fmt.Errorf("create directory %s: %w", p, classify(err))
	}
	d.markKnown(dirRel)
	return nil
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

func (d *Dest) markDirty(dirAbs string) {
	d.mu.Lock()
	d.dirty[dirAbs] = struct{}{}
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

// tempPath is a fresh hidden temp name in the directory of final.
func (d *Dest) tempPath(final string) string {
	return filepath.Join(filepath.Dir(final), d.tempName())
}

// Begin implements transfer.Destination. The file is created under a hidden
// temp name in its target directory (or in place when Progressive), already
// with its final permission bits where the umask allows, to save a chmod.
func (d *Dest) Begin(ctx context.Context, rel string, m transfer.Meta, resume *transfer.Checkpoint) (transfer.Upload, error) {
	final, err := d.abs(rel)
	if err != nil {
		return nil, err
	}
	if err := d.ensureDir(path.Dir(rel)); err != nil {
		return nil, err
	}
	i := strings.LastIndexByte(final, '/')
	dir, base := final[:i], final[i+1:]
	if dir == "" {
		dir = "/"
	}
	u := &upload{d: d, rel: rel, final: final, base: base, fd: -1}
	perm := uint32(m.Mode.Perm())
	if perm == 0 {
		perm = 0o600
	}
	flags := unix.O_WRONLY | unix.O_CREAT | unix.O_CLOEXEC
	if d.opts.Progressive {
		u.inPlace, u.name = true, base
		flags |= unix.O_TRUNC
	} else {
		u.name = d.tempName()
		flags |= unix.O_EXCL
		if d.resumable(m.Size) {
			u.name, u.every = d.partName(), d.opts.ResumeEvery
		}
	}
	u.dir, err = d.dirs.acquire(dir)
	if err == nil && u.every > 0 && d.reopen(u, dir, resume) {
		return u, nil
	}
	if err == nil {
		u.fd, err = unix.Openat(u.dir.fd, u.name, flags, perm)
		if err == unix.ENOENT {
			// The directory may have been removed, and made again, since
			// its descriptor was opened: look it up afresh once.
			d.dirs.release(u.dir)
			d.dirs.forget(dir)
			if u.dir, err = d.dirs.acquire(dir); err == nil {
				u.fd, err = unix.Openat(u.dir.fd, u.name, flags, perm)
			}
		}
		if err != nil && u.dir != nil {
			d.dirs.release(u.dir)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", filepath.Join(dir, u.name), classify(err))
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
	end     int64  // highest offset written
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

func (u *upload) Write(_ context.Context, off int64, p []byte) error {
	if u.fd < 0 {
		return fmt.Errorf("write %s: upload already finished", u.final)
	}
	if off < u.held { // already in the resumed temp file
		k := min(int64(len(p)), u.held-off)
		p, off = p[k:], off+k
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
	u.end = max(u.end, off)
	return u.syncResumable()
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
	u.d.markDirty(u.dir.path)
	return nil
}

func (u *upload) finish(m transfer.Meta) error {
	fd := u.fd
	// The size check counts what the writes acknowledged rather than
	// asking the file system: on a network mount a stat is a round trip.
	if !u.d.opts.Progressive && u.end != m.Size {
		return fmt.Errorf("%s: %d bytes written, want %d", u.final, u.end, m.Size)
	}
	if u.d.opts.Progressive {
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

const chmodMask = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

func chmodMode(m fs.FileMode) fs.FileMode { return m & chmodMask }

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

// Stat implements transfer.Destination; it does not follow symlinks.
func (d *Dest) Stat(_ context.Context, rel string) (transfer.Meta, error) {
	p, err := d.abs(rel)
	if err != nil {
		return transfer.Meta{}, err
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return transfer.Meta{}, fmt.Errorf("stat %s: %w", p, classify(err))
	}
	return metaOf(fi), nil
}

func metaOf(fi fs.FileInfo) transfer.Meta {
	m := transfer.Meta{Size: fi.Size(), Mode: fi.Mode(), ModTime: fi.ModTime(), UID: -1, GID: -1}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		m.UID, m.GID = int(st.Uid), int(st.Gid)
	}
	return m
}

// Remove implements transfer.Destination. Directories are removed only when
// empty; the agent removes their contents first.
func (d *Dest) Remove(_ context.Context, rel string) error {
	p, err := d.abs(rel)
	if err != nil {
		return err
	}
	if p == d.root {
		return fmt.Errorf("%s: refusing to remove the destination root", p)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", p, classify(err))
	}
	d.mu.Lock()
	delete(d.known, rel)
	d.mu.Unlock()
	d.dirs.forget(p)
	d.markDirty(filepath.Dir(p))
	return nil
}

// Mkdir implements transfer.DirMaker: it creates rel (parents must exist or
// are created 0755) or fixes the mode of an existing directory.
func (d *Dest) Mkdir(_ context.Context, rel string, m transfer.Meta) error {
	p, err := d.abs(rel)
	if err != nil {
		return err
	}
	if err := d.ensureDir(path.Dir(rel)); err != nil {
		return err
	}
	mode := unixMode(m.Mode)
	err = unix.Mkdir(p, mode)
	switch {
	case err == nil:
		d.markDirty(filepath.Dir(p))
		// mkdir(2) applies the umask; set the source's mode exactly.
		if err := os.Chmod(p, chmodMode(m.Mode)); err != nil {
			return fmt.Errorf("chmod %s: %w", p, classify(err))
		}
	case errors.Is(err, unix.EEXIST):
		fi, serr := os.Lstat(p)
		if serr != nil {
			return fmt.Errorf("mkdir %s: %w", p, classify(serr))
		}
		if !fi.IsDir() {
			// A file or link where the source now has a directory: replace it.
			if rerr := os.Remove(p); rerr != nil {
				return fmt.Errorf("mkdir %s: replace non-directory: %w", p, classify(rerr))
			}
			return d.Mkdir(context.Background(), rel, m)
		}
		if fi.Mode()&chmodMask != chmodMode(m.Mode) {
			if err := os.Chmod(p, chmodMode(m.Mode)); err != nil {
				return fmt.Errorf("chmod %s: %w", p, classify(err))
			}
		}
	default:
		return fmt.Errorf("mkdir %s: %w", p, classify(err))
	}
	if d.opts.Chown && m.UID >= 0 && m.GID >= 0 {
		if err := os.Lchown(p, m.UID, m.GID); err != nil {
			return fmt.Errorf("chown %s: %w", p, classify(err))
		}
	}
	d.markKnown(rel)
	return nil
}

// Symlink implements transfer.Symlinker: the link is created under a temp
// name and renamed over rel, so an existing entry is replaced atomically.
func (d *Dest) Symlink(_ context.Context, rel, target string, m transfer.Meta) error {
	final, err := d.abs(rel)
	if err != nil {
		return err
	}
	if err := d.ensureDir(path.Dir(rel)); err != nil {
		return err
	}
	tmp := d.tempPath(final)
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("symlink %s: %w", final, classify(err))
	}
	if d.opts.Chown && m.UID >= 0 && m.GID >= 0 {
		if err := os.Lchown(tmp, m.UID, m.GID); err != nil {
			_ = os.Remove(tmp)
			return fmt.Errorf("chown %s: %w", final, classify(err))
		}
	}
	if !m.ModTime.IsZero() {
		ts := []unix.Timespec{unix.NsecToTimespec(m.ModTime.UnixNano()), unix.NsecToTimespec(m.ModTime.UnixNano())}
		_ = unix.UtimesNanoAt(unix.AT_FDCWD, tmp, ts, unix.AT_SYMLINK_NOFOLLOW)
	}
	return d.publishTemp(tmp, final)
}

// publishTemp renames a finished temp entry over final, or removes it.
func (d *Dest) publishTemp(tmp, final string) error {
	if err := unix.Rename(tmp, final); err != nil {
		_ = unix.Unlink(tmp)
		return fmt.Errorf("publish %s: %w", final, classify(err))
	}
	d.markDirty(filepath.Dir(final))
	return nil
}

// Link implements transfer.Linker: rel becomes a hard link to the already
// published existing, replacing whatever rel was.
func (d *Dest) Link(_ context.Context, existing, rel string) error {
	src, err := d.abs(existing)
	if err != nil {
		return err
	}
	final, err := d.abs(rel)
	if err != nil {
		return err
	}
	if err := d.ensureDir(path.Dir(rel)); err != nil {
		return err
	}
	tmp := d.tempPath(final)
	if err := os.Link(src, tmp); err != nil {
		return fmt.Errorf("hard link %s to %s: %w", final, src, classify(err))
	}
	return d.publishTemp(tmp, final)
}

// Sync implements transfer.Syncer: one fsync per directory that received
// renames since the last Sync, however many files were published into it.
func (d *Dest) Sync(context.Context) error {
	d.mu.Lock()
	dirs := d.dirty
	d.dirty = map[string]struct{}{}
	d.mu.Unlock()
	var errs []error
	for dir := range dirs {
		if err := fsyncDir(dir); err != nil {
			errs = append(errs, err)
			d.markDirty(dir) // try again next time
		}
	}
	d.dirs.closeIdle()
	return errors.Join(errs...)
}

func fsyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed since; nothing left to make durable
		}
		return fmt.Errorf("fsync directory %s: %w", dir, classify(err))
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, classify(err))
	}
	return nil
}

// List implements transfer.Lister. Temp files are not reported.
func (d *Dest) List(ctx context.Context, fn func(rel string, m transfer.Meta) error) error {
	return filepath.WalkDir(d.root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("list %s: %w", p, classify(err))
		}
		if p == d.root {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if strings.HasPrefix(de.Name(), TempPrefix) {
			return nil
		}
		fi, err := de.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return fmt.Errorf("list %s: %w", p, classify(err))
		}
		rel, _ := filepath.Rel(d.root, p)
		return fn(filepath.ToSlash(rel), metaOf(fi))
	})
}

// Open implements transfer.Opener.
func (d *Dest) Open(_ context.Context, rel string) (io.ReadCloser, error) {
	p, err := d.abs(rel)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, classify(err))
	}
	return f, nil
}

// Cleanup implements transfer.Cleaner: it removes temp files a crashed run
// of this agent (same TempTag) left behind. It walks the whole destination, so the agent calls it only
// after a run that did not end cleanly.
func (d *Dest) Cleanup(ctx context.Context, _ func(string) bool) (int, error) {
	n := 0
	err := filepath.WalkDir(d.root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return fmt.Errorf("cleanup %s: %w", p, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !de.IsDir() && strings.HasPrefix(de.Name(), d.tempPrefix) {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove leftover %s: %w", p, err)
			}
			n++
		}
		return nil
	})
	return n, err
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
