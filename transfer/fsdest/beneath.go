package fsdest

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Every path fsdest touches is resolved below the destination root without
// following a symlink, so a link planted inside a destination (or a
// directory replaced by one) can never make efssync write, read or delete
// outside it. openat2 does that in one call; on kernels older than 5.6 the
// same is done one component at a time with O_NOFOLLOW.

// beneath is how openat2 may resolve a path: below the starting directory,
// never through a symlink or a /proc magic link.
const beneath = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// ErrSymlinkInPath marks an operation refused because a component of its
// path is a symlink (or climbs out of the root): efssync never follows one
// at a destination.
var ErrSymlinkInPath = errors.New("a symlink (never followed) or a non-directory is in the path")

// openBeneath opens rel, a clean relative path, below the directory dirfd
// without following any symlink on the way, the last component included
// (a final symlink is ELOOP, except with O_PATH|O_NOFOLLOW, which opens
// the link itself).
func openBeneath(dirfd int, rel string, flags int, mode uint32) (int, error) {
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Mode: uint64(mode), Resolve: beneath}
	for {
		fd, err := unix.Openat2(dirfd, rel, &how)
		switch err {
		case nil:
			return fd, nil
		case unix.EINTR, unix.EAGAIN: // EAGAIN: a concurrent rename raced the lookup
			continue
		case unix.ENOSYS, unix.EPERM: // no openat2, or a seccomp filter refusing it
			return walkBeneath(dirfd, rel, flags, mode)
		}
		return -1, symlinkErr(err)
	}
}

// walkBeneath is openBeneath without openat2: each directory component is
// opened with O_NOFOLLOW relative to the previous one. rel never holds
// ".." (Dest.abs refuses it), so the walk cannot climb out either.
func walkBeneath(dirfd int, rel string, flags int, mode uint32) (int, error) {
	if rel == "." || rel == "" {
		return openat(dirfd, ".", flags, mode)
	}
	cur := dirfd
	closeCur := func() {
		if cur != dirfd {
			_ = unix.Close(cur)
		}
	}
	for {
		i := strings.IndexByte(rel, '/')
		if i < 0 {
			break
		}
		next, err := openat(cur, rel[:i], unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
		if err != nil {
			closeCur()
			return -1, symlinkErr(err)
		}
		closeCur()
		cur, rel = next, rel[i+1:]
	}
	if flags&unix.O_PATH == 0 || flags&unix.O_DIRECTORY != 0 {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := openat(cur, rel, flags, mode)
	closeCur()
	if err != nil {
		return -1, symlinkErr(err)
	}
	return fd, nil
}

// openat is unix.Openat with close-on-exec, retried on EINTR.
func openat(dirfd int, name string, flags int, mode uint32) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags|unix.O_CLOEXEC, mode)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// symlinkErr names the refusal when a path could only be resolved through
// a symlink (ELOOP), outside the root (EXDEV from RESOLVE_BENEATH), or
// through a non-directory (ENOTDIR: O_NOFOLLOW|O_DIRECTORY on a link).
func symlinkErr(err error) error {
	switch err {
	case unix.ELOOP, unix.EXDEV, unix.ENOTDIR:
		return fmt.Errorf("%w: %w", ErrSymlinkInPath, err)
	}
	return err
}

// mkdirBeneath makes sure the directory rel exists below dirfd, creating
// missing components with mode perm, and returns an O_PATH descriptor of
// it. A symlink found where a directory belongs is replaced by a
// directory (the source has a directory there, since something is being
// published below it); any other non-directory is an error. created
// reports each directory made, relative to dirfd, for the caller to fsync
// its parent.
func mkdirBeneath(dirfd int, rel string, perm uint32, created func(rel string)) (int, error) {
	cur := dirfd
	done := ""
	for rest := rel; rest != "" && rest != "."; {
		name := rest
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			name, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		if done == "" {
			done = name
		} else {
			done += "/" + name
		}
		next, err := openOrMakeDir(cur, name, perm, func() { created(done) })
		if cur != dirfd {
			_ = unix.Close(cur)
		}
		if err != nil {
			return -1, fmt.Errorf("%s: %w", done, err)
		}
		cur = next
	}
	if cur == dirfd {
		return unix.Dup(dirfd)
	}
	return cur, nil
}

// openOrMakeDir opens the directory name in dirfd, making it (or replacing
// a symlink by it) when needed.
func openOrMakeDir(dirfd int, name string, perm uint32, created func()) (int, error) {
	for range 3 { // a concurrent maker or remover may race each step
		fd, err := openat(dirfd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
		switch err {
		case nil:
			return fd, nil
		case unix.ENOENT:
			if err := unix.Mkdirat(dirfd, name, perm); err != nil && err != unix.EEXIST {
				return -1, err
			}
			created()
		case unix.ENOTDIR, unix.ELOOP:
			var st unix.Stat_t
			if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				continue
			}
			if st.Mode&unix.S_IFMT != unix.S_IFLNK {
				return -1, fmt.Errorf("not a directory: %w", unix.ENOTDIR)
			}
			if err := unix.Unlinkat(dirfd, name, 0); err != nil && err != unix.ENOENT {
				return -1, fmt.Errorf("replace symlink by a directory: %w", err)
			}
		default:
			return -1, err
		}
	}
	return -1, fmt.Errorf("directory keeps changing: %w", unix.EAGAIN)
}
