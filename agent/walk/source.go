package walk

import (
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// Every open of a source file or directory goes through OpenNoSymlinks, with a path built
// on the job's resolved source root (jobRun.src): the walk classified each
// path with lstat, and a symlink put in place of a walked file or
// directory afterwards must not lead a read out of the root. Without this
// a user who can write in the source could have the agent copy any file it
// can read (/etc/shadow, under root) into the destination. Symlinks
// themselves are read with readlink by path, which follows a symlink put
// in place of a directory above them: at worst another link's target text
// is copied, never file content.

// OpenNoSymlinks opens path, no component of which may be a symlink: with
// openat2's RESOLVE_NO_SYMLINKS the kernel refuses, with ELOOP, a symlink
// anywhere on the way. A kernel before 5.6, or a seccomp filter that does
// not know openat2, gets O_NOFOLLOW, which guards the last component.
func OpenNoSymlinks(path string, flags int) (int, error) {
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: unix.RESOLVE_NO_SYMLINKS}
	for {
		fd, err := unix.Openat2(unix.AT_FDCWD, path, &how)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.ENOSYS, err == unix.EPERM && flags&unix.O_NOATIME == 0:
			return OpenNoFollow(path, flags)
		}
		return fd, err
	}
}

func OpenNoFollow(path string, flags int) (int, error) {
	for {
		fd, err := unix.Open(path, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// OpenFD opens a source file for reading, without touching its atime
// where the kernel allows it (O_NOATIME needs ownership or CAP_FOWNER). The
// copy path reads through a raw descriptor, which saves four fcntl calls
// and an epoll registration per file. O_NONBLOCK changes nothing for a
// regular file; it keeps a FIFO put where a walked file was from blocking
// the open.
func OpenFD(path string) (int, error) {
	const flags = unix.O_RDONLY | unix.O_NONBLOCK
	fd, err := OpenNoSymlinks(path, flags|unix.O_NOATIME)
	if err == unix.EPERM {
		fd, err = OpenNoSymlinks(path, flags)
	}
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return fd, nil
}

// Open is OpenFD as an *os.File, for the readers that are not
// on the per-file hot path.
func Open(path string) (*os.File, error) {
	fd, err := OpenFD(path)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}
