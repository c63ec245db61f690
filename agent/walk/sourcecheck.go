package walk

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Lacks reports whether the source root has no entry at rel, judged
// without following a symlink anywhere on the way: when a source
// directory became a symlink, what lies below the link is not the
// source's, and the destination's entries below that name must go (issue
// 11, D5). An error other than "missing" keeps the entry: a delete is
// only made on proof.
func Lacks(root, rel string) bool {
	p := filepath.Join(root, filepath.FromSlash(rel))
	fd, err := OpenNoSymlinks(filepath.Dir(p), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return err == unix.ENOENT || err == unix.ENOTDIR || err == unix.ELOOP
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	for {
		err = unix.Fstatat(fd, filepath.Base(p), &st, unix.AT_SYMLINK_NOFOLLOW)
		if err != unix.EINTR {
			return err == unix.ENOENT
		}
	}
}

// Empty reports whether the directory root holds no entry at all: what an
// unmounted mount point looks like, and what the delete guard refuses to
// mirror.
func Empty(root string) (bool, error) {
	fd, err := OpenNoSymlinks(root, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return false, fmt.Errorf("source %s: %w", root, err)
	}
	f := os.NewFile(uintptr(fd), root)
	defer f.Close()
	names, err := f.Readdirnames(1)
	if err == io.EOF {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("source %s: %w", root, err)
	}
	return len(names) == 0, nil
}
