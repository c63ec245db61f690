package fsdest

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrTooMany is returned by RemoveTree when the directory holds more
// entries than the caller allows: nothing was removed.
var ErrTooMany = errors.New("more entries than allowed")

// RemoveTree removes the directory rel and everything below it, when the
// source has replaced that directory by a file or a symlink. It counts the
// entries first and removes nothing when there are more than max (the
// job's max_delete guard), returning ErrTooMany. It never follows a
// symlink: the tree is opened below the root with O_NOFOLLOW at every
// level, and a link inside it is removed as a link. A rel that is not a
// directory (or is missing) removes nothing and returns 0.
func (d *Dest) RemoveTree(ctx context.Context, rel string, max int) (int, error) {
	p, err := d.abs(rel)
	if err != nil {
		return 0, err
	}
	if p == d.root {
		return 0, fmt.Errorf("%s: refusing to remove the destination root", p)
	}
	n := 0
	err = d.walkTree(ctx, rel, func(int, string, string, *unix.Stat_t) error { n++; return nil })
	if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ELOOP) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if n+1 > max {
		return 0, fmt.Errorf("%s: replacing the directory by the source's non-directory removes %d entries: %w (max_delete allows %d)", p, n+1, ErrTooMany, max)
	}
	var dirs []string
	err = d.walkTree(ctx, rel, func(dirfd int, child, name string, st *unix.Stat_t) error {
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			dirs = append(dirs, child) // removed after their contents
			return nil
		}
		if err := unix.Unlinkat(dirfd, name, 0); err != nil && err != unix.ENOENT {
			return fmt.Errorf("remove %s: %w", d.absOf(child), classify(err))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := d.Remove(ctx, dirs[i]); err != nil {
			return 0, err
		}
	}
	if err := d.Remove(ctx, rel); err != nil {
		return 0, err
	}
	d.forgetDirty(rel)
	return n + 1, nil
}

// forgetDirty drops the removed directory rel and those below it from the
// directories the next Sync makes durable: the publish that follows may
// put a file or a link under that name, which is no directory to fsync.
func (d *Dest) forgetDirty(rel string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k := range d.dirty {
		if k == rel || strings.HasPrefix(k, rel+"/") {
			delete(d.dirty, k)
		}
	}
}

// walkTree walks below the directory rel (not rel itself), opened below the
// root without following a symlink.
func (d *Dest) walkTree(ctx context.Context, rel string, visit visitFunc) error {
	fd, err := d.openBeneathRoot(rel, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
	if err != nil {
		return err
	}
	return d.walkDir(ctx, fd, rel, visit)
}
