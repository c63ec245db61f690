package fsdest

import (
	"fmt"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/efssync/efssync/transfer"
)

// Metadata is applied in one place, applyMeta, for every kind of entry
// (file, directory, symlink) and every way of publishing it (temp file and
// rename, progressive, resumed). Each way used to apply its own subset, and
// the subsets drifted apart: a progressive file kept the mode and owner of
// the file it overwrote. The kinds differ only in the system calls that
// reach the entry, which is what a metaTarget supplies.

// A metaTarget reaches one entry to change its metadata, without ever
// following a symlink to something else.
type metaTarget interface {
	chown(uid, gid int) error
	// chmod sets the mode; a symlink has none on Linux and ignores it.
	chmod(mode uint32) error
	setxattr(name string, value []byte) error
	utimes(ts *[2]unix.Timespec) error
}

// owned is the metadata an entry already carries, so applyMeta skips the
// calls that would change nothing (each is a round trip on NFS).
type owned struct {
	mode     uint32 // permission, set-id and sticky bits
	uid, gid int    // -1: unknown, always chown
}

// applyMeta gives the entry t (shown as show in errors) m's owner, mode,
// extended attributes and mtime, in that order: chown clears set-id bits
// that the chmod after it sets again, and setting the mtime last keeps
// nothing from moving it afterwards. Its errors are not classified: the
// caller knows whether a retry may follow.
func (d *Dest) applyMeta(t metaTarget, show string, m transfer.Meta, have owned) error {
	chowned := false
	if d.opts.Chown && m.UID >= 0 && m.GID >= 0 && (m.UID != have.uid || m.GID != have.gid) {
		if err := t.chown(m.UID, m.GID); err != nil {
			return fmt.Errorf("chown %s: %w", show, err)
		}
		chowned = true
	}
	if mode := unixMode(m.Mode); mode != have.mode || chowned && mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
		if err := t.chmod(mode); err != nil {
			return fmt.Errorf("chmod %s: %w", show, err)
		}
	}
	if d.opts.Xattrs {
		for k, v := range m.Xattrs {
			if err := t.setxattr(k, v); err != nil {
				return fmt.Errorf("set xattr %s on %s: %w", k, show, err)
			}
		}
	}
	if !m.ModTime.IsZero() {
		ts := [2]unix.Timespec{timespec(m.ModTime), timespec(m.ModTime)}
		if err := t.utimes(&ts); err != nil {
			return fmt.Errorf("set mtime of %s: %w", show, err)
		}
	}
	return nil
}

// timespec converts t for the kernel from its seconds and nanoseconds.
// Going through t.UnixNano() overflows int64 after the year 2262 and
// wraps to 1901; a time_t holds any time a file system stores.
func timespec(t time.Time) unix.Timespec {
	return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

// fileTarget is a regular file open for writing.
type fileTarget int

func (f fileTarget) chown(uid, gid int) error { return unix.Fchown(int(f), uid, gid) }
func (f fileTarget) chmod(mode uint32) error  { return unix.Fchmod(int(f), mode) }
func (f fileTarget) setxattr(k string, v []byte) error {
	return unix.Fsetxattr(int(f), k, v, 0)
}

// utimes is futimens(2): through the descriptor, saving a path lookup on
// a network mount.
func (f fileTarget) utimes(ts *[2]unix.Timespec) error {
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(f), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// pathTarget is a directory held by an O_PATH descriptor. The f* calls
// refuse O_PATH descriptors; the descriptor's /proc link names exactly
// the opened inode, so following it cannot reach anything else.
type pathTarget int

func (p pathTarget) proc() string { return "/proc/self/fd/" + strconv.Itoa(int(p)) }

func (p pathTarget) chown(uid, gid int) error {
	return unix.Fchownat(int(p), "", uid, gid, unix.AT_EMPTY_PATH)
}
func (p pathTarget) chmod(mode uint32) error { return unix.Fchmodat(unix.AT_FDCWD, p.proc(), mode, 0) }
func (p pathTarget) setxattr(k string, v []byte) error {
	return unix.Setxattr(p.proc(), k, v, 0)
}
func (p pathTarget) utimes(ts *[2]unix.Timespec) error {
	return unix.UtimesNanoAt(unix.AT_FDCWD, p.proc(), ts[:], 0)
}

// linkTarget is a symlink, named in an open directory.
type linkTarget struct {
	dir  int
	name string
}

func (l linkTarget) chown(uid, gid int) error {
	return unix.Fchownat(l.dir, l.name, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
}
func (l linkTarget) chmod(uint32) error { return nil }
func (l linkTarget) setxattr(k string, v []byte) error {
	return unix.Lsetxattr("/proc/self/fd/"+strconv.Itoa(l.dir)+"/"+l.name, k, v, 0)
}
func (l linkTarget) utimes(ts *[2]unix.Timespec) error {
	return unix.UtimesNanoAt(l.dir, l.name, ts[:], unix.AT_SYMLINK_NOFOLLOW)
}
