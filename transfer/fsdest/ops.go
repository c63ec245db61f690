package fsdest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"time"

	"golang.org/x/sys/unix"

	"github.com/efssync/efssync/transfer"
)

// The operations on one entry below. Each resolves the entry's directory
// below the root without following a symlink (the descriptor cache), then
// acts on the last component with an *at call that does not follow it
// either.

// Stat implements transfer.Destination; it does not follow symlinks.
func (d *Dest) Stat(_ context.Context, rel string) (transfer.Meta, error) {
	p, err := d.abs(rel)
	if err != nil {
		return transfer.Meta{}, err
	}
	if p == d.root {
		rel = "."
	}
	// A descriptor of its own, not the cache's: a Stat outside a batch
	// must not leave a descriptor holding the mount.
	fd, err := d.openBeneathRoot(rel, unix.O_PATH|unix.O_NOFOLLOW)
	if err != nil {
		return transfer.Meta{}, fmt.Errorf("stat %s: %w", p, classify(err))
	}
	var st unix.Stat_t
	err = unix.Fstat(fd, &st)
	_ = unix.Close(fd)
	if err != nil {
		return transfer.Meta{}, fmt.Errorf("stat %s: %w", p, classify(err))
	}
	return metaOfStat(&st), nil
}

// metaOfStat converts what fstatat reports.
func metaOfStat(st *unix.Stat_t) transfer.Meta {
	return transfer.Meta{Size: st.Size, Mode: fileMode(st.Mode), ModTime: time.Unix(st.Mtim.Unix()),
		UID: int(st.Uid), GID: int(st.Gid)}
}

// fileMode converts a stat mode to an fs.FileMode.
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	}
	if m&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// Remove implements transfer.Destination. Directories are removed only when
// empty; the agent removes their contents first. A symlink is removed
// itself, never what it points to; a path through a symlink is refused.
func (d *Dest) Remove(_ context.Context, rel string) error {
	p, err := d.abs(rel)
	if err != nil {
		return err
	}
	if p == d.root {
		return fmt.Errorf("%s: refusing to remove the destination root", p)
	}
	dir, base, err := d.parent(rel)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("remove %s: %w", p, err)
	}
	err = unix.Unlinkat(dir.fd, base, 0)
	if err == unix.EISDIR {
		err = unix.Unlinkat(dir.fd, base, unix.AT_REMOVEDIR)
	}
	d.dirs.release(dir)
	if err != nil && err != unix.ENOENT {
		// No Sync may follow a failed delete (a mirror delete syncs only
		// after one succeeded): hold nothing open on the mount.
		d.dirs.closeIdle()
		return fmt.Errorf("remove %s: %w", p, classify(err))
	}
	d.mu.Lock()
	delete(d.known, rel)
	d.mu.Unlock()
	d.dirs.forget(rel)
	d.markDirty(dir.rel)
	return nil
}

// Mkdir implements transfer.DirMaker: it creates rel (parents must exist or
// are created 0755) or fixes the metadata (mode, owner, xattrs, mtime) of
// an existing directory. Entries published into it later move its mtime
// again: a final mtime needs one more Mkdir after them. A file or
// symlink where the source now has a directory is replaced.
func (d *Dest) Mkdir(_ context.Context, rel string, m transfer.Meta) error {
	p, dir, base, err := d.entry("mkdir", rel)
	if err != nil {
		return err
	}
	defer d.dirs.release(dir)
	fd, made, err := makeDir(dir.fd, base, unixMode(m.Mode))
	if err != nil {
		return fmt.Errorf("mkdir %s: %w", p, classify(err))
	}
	defer unix.Close(fd)
	if made {
		d.markDirty(dir.rel)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("mkdir %s: %w", p, classify(err))
	}
	// mkdir(2) applies the umask; applyMeta sets the source's mode exactly.
	if err := d.applyMeta(pathTarget(fd), p, m, owned{mode: st.Mode & 0o7777, uid: int(st.Uid), gid: int(st.Gid)}); err != nil {
		return classify(err)
	}
	d.markKnown(rel)
	return nil
}

// makeDir makes the directory name in dirfd, replacing a non-directory
// found there, and returns an O_PATH descriptor of it.
func makeDir(dirfd int, name string, mode uint32) (fd int, made bool, err error) {
	for range 3 {
		err = unix.Mkdirat(dirfd, name, mode)
		made = err == nil
		if err != nil && err != unix.EEXIST {
			return -1, false, err
		}
		fd, err = openat(dirfd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
		switch err {
		case nil:
			return fd, made, nil
		case unix.ENOTDIR, unix.ELOOP:
			// A file or link where the source has a directory: replace it.
			if rerr := unix.Unlinkat(dirfd, name, 0); rerr != nil && rerr != unix.ENOENT {
				return -1, false, fmt.Errorf("replace non-directory: %w", rerr)
			}
		case unix.ENOENT: // removed meanwhile: make it again
		default:
			return -1, false, err
		}
	}
	return -1, false, fmt.Errorf("directory keeps changing: %w", unix.EAGAIN)
}

// Symlink implements transfer.Symlinker: the link is created under a temp
// name and renamed over rel, so an existing entry is replaced atomically.
func (d *Dest) Symlink(_ context.Context, rel, target string, m transfer.Meta) error {
	final, dir, base, err := d.entry("symlink", rel)
	if err != nil {
		return err
	}
	defer d.dirs.release(dir)
	tmp := d.tempName()
	if err := unix.Symlinkat(target, dir.fd, tmp); err != nil {
		return fmt.Errorf("symlink %s: %w", final, classify(err))
	}
	// A new link belongs to this process and has no mode of its own.
	have := owned{mode: unixMode(m.Mode), uid: d.euid, gid: d.egid}
	if err := d.applyMeta(linkTarget{dir: dir.fd, name: tmp}, final, m, have); err != nil {
		_ = unix.Unlinkat(dir.fd, tmp, 0)
		return classify(err)
	}
	return d.publishTemp(dir, tmp, base, final)
}

// publishTemp renames a finished temp entry of dir over base, or removes it.
func (d *Dest) publishTemp(dir *dirFD, tmp, base, final string) error {
	if err := unix.Renameat(dir.fd, tmp, dir.fd, base); err != nil {
		_ = unix.Unlinkat(dir.fd, tmp, 0)
		return fmt.Errorf("publish %s: %w", final, classify(err))
	}
	d.markDirty(dir.rel)
	return nil
}

// Link implements transfer.Linker: rel becomes a hard link to the already
// published existing, replacing whatever rel was. A symlink as existing is
// linked itself, never its target.
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
	sdir, sbase, err := d.parent(existing)
	if err != nil {
		return fmt.Errorf("hard link %s to %s: %w", final, src, err)
	}
	defer d.dirs.release(sdir)
	dir, base, err := d.parent(rel)
	if err != nil {
		return fmt.Errorf("hard link %s to %s: %w", final, src, err)
	}
	defer d.dirs.release(dir)
	var have, want unix.Stat_t
	if unix.Fstatat(dir.fd, base, &have, unix.AT_SYMLINK_NOFOLLOW) == nil &&
		unix.Fstatat(sdir.fd, sbase, &want, unix.AT_SYMLINK_NOFOLLOW) == nil &&
		have.Dev == want.Dev && have.Ino == want.Ino {
		return nil // already a link to existing: nothing to do
	}
	tmp := d.tempName()
	if err := unix.Linkat(sdir.fd, sbase, dir.fd, tmp, 0); err != nil {
		return fmt.Errorf("hard link %s to %s: %w", final, src, classify(err))
	}
	if err := d.publishTemp(dir, tmp, base, final); err != nil {
		return err
	}
	// rename(2) of one name of a file over another name of the same file
	// succeeds and does nothing: if rel became a link to existing since
	// the check above, the temp name is still there.
	if err := unix.Unlinkat(dir.fd, tmp, 0); err != nil && err != unix.ENOENT {
		return fmt.Errorf("hard link %s to %s: remove temp name: %w", final, src, classify(err))
	}
	return nil
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
		if err := d.fsyncDir(dir); err != nil {
			errs = append(errs, err)
			d.markDirty(dir) // try again next time
		}
	}
	d.dirs.closeIdle()
	return errors.Join(errs...)
}

// fsyncDir makes the entries of the directory rel durable.
func (d *Dest) fsyncDir(rel string) error {
	root, err := d.dirs.acquire(".", d.root) // Sync closes it afterwards
	if err != nil {
		return fmt.Errorf("fsync directory %s: %w", d.absOf(rel), classify(err))
	}
	fd, err := openBeneath(root.fd, rel, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	d.dirs.release(root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed since; nothing left to make durable
		}
		return fmt.Errorf("fsync directory %s: %w", d.absOf(rel), classify(err))
	}
	defer unix.Close(fd)
	if err := unix.Fsync(fd); err != nil {
		return fmt.Errorf("fsync directory %s: %w", d.absOf(rel), classify(err))
	}
	return nil
}

// openBeneathRoot opens rel below the root without following a symlink,
// through a root descriptor of its own: reads outside a batch (Stat, Open,
// List) leave nothing open on the mount.
func (d *Dest) openBeneathRoot(rel string, flags int) (int, error) {
	root, err := openat(unix.AT_FDCWD, d.root, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(root)
	return openBeneath(root, rel, flags, 0)
}

// Open implements transfer.Opener. It refuses a symlink anywhere in rel,
// the last component included: verification reads what is published
// there, never what a link points to.
func (d *Dest) Open(_ context.Context, rel string) (io.ReadCloser, error) {
	p, err := d.abs(rel)
	if err != nil {
		return nil, err
	}
	fd, err := d.openBeneathRoot(path.Clean("./"+rel), unix.O_RDONLY|unix.O_NOFOLLOW)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, classify(err))
	}
	return os.NewFile(uintptr(fd), p), nil
}

// entry resolves rel for the operation op: its absolute path (for
// messages), its parent directory (made if missing, held open: the caller
// releases it) and its last component.
func (d *Dest) entry(op, rel string) (p string, dir *dirFD, base string, err error) {
	if p, err = d.abs(rel); err != nil {
		return "", nil, "", err
	}
	if err = d.ensureDir(path.Dir(rel)); err != nil {
		return "", nil, "", err
	}
	if dir, base, err = d.parent(rel); err != nil {
		return "", nil, "", fmt.Errorf("%s %s: %w", op, p, err)
	}
	return p, dir, base, nil
}
