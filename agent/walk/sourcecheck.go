package walk

import (
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
