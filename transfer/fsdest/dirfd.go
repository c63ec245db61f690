package fsdest

import (
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// maxIdleDirs bounds the directory descriptors kept open while unused.
const maxIdleDirs = 16

// dirFDs keeps O_PATH descriptors of the directories files are being
// written into, so creating, renaming and removing a temp file resolves one
// path component instead of the whole path. On NFS every component of a
// path may cost a revalidation round trip; on a local file system the path
// walk is a tenth of a small file's publication. Idle descriptors are
// closed at every Sync and whenever more than maxIdleDirs are idle, so
// unmounting a destination between runs is never blocked.
//
// Directories are keyed by their path relative to the root and opened by
// openDir, which resolves them below the root without following symlinks.
type dirFDs struct {
	openDir func(rel string) (int, error)

	mu   sync.Mutex
	open map[string]*dirFD // by path relative to the root
	idle int
}

// dirFD is one open directory and the uploads using it.
type dirFD struct {
	rel  string // relative to the root: the key
	path string // absolute, for messages
	fd   int
	refs int
	// gone is set when the directory was removed while in use: the last
	// release closes it, and no new upload gets it.
	gone bool
}

// acquire returns the open directory dir (relative to the root), opening
// it if needed; abs is its absolute path, for messages.
func (c *dirFDs) acquire(dir, abs string) (*dirFD, error) {
	c.mu.Lock()
	if f := c.take(dir); f != nil {
		c.mu.Unlock()
		return f, nil
	}
	c.mu.Unlock()
	fd, err := c.openDir(dir)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.take(dir); f != nil { // opened meanwhile by another upload
		_ = unix.Close(fd)
		return f, nil
	}
	if c.open == nil {
		c.open = map[string]*dirFD{}
	}
	f := &dirFD{rel: dir, path: abs, fd: fd, refs: 1}
	c.open[dir] = f
	return f, nil
}

// take adds a reference to dir's open descriptor, if there is one.
func (c *dirFDs) take(dir string) *dirFD {
	f, ok := c.open[dir]
	if !ok {
		return nil
	}
	if f.refs == 0 {
		c.idle--
	}
	f.refs++
	return f
}

// release gives back a reference from acquire.
func (c *dirFDs) release(f *dirFD) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f.refs--
	switch {
	case f.refs > 0:
	case f.gone:
		_ = unix.Close(f.fd)
	default:
		c.idle++
		if c.idle > maxIdleDirs {
			c.closeIdleLocked()
		}
	}
}

// forget drops dir (relative; "." is everything) and every directory below it, so that nothing is
// written through a descriptor of a removed (and maybe recreated) path.
func (c *dirFDs) forget(dir string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, f := range c.open {
		if dir != "." && p != dir && !strings.HasPrefix(p, dir+"/") {
			continue
		}
		delete(c.open, p)
		if f.refs == 0 {
			c.idle--
			_ = unix.Close(f.fd)
		} else {
			f.gone = true
		}
	}
}

// closeIdle closes every descriptor no upload is using.
func (c *dirFDs) closeIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeIdleLocked()
}

func (c *dirFDs) closeIdleLocked() {
	for p, f := range c.open {
		if f.refs == 0 {
			delete(c.open, p)
			_ = unix.Close(f.fd)
		}
	}
	c.idle = 0
}
