package faultfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Power loss, after LazyFS: with Options.PowerLoss the mount keeps, beside
// the backing directory (which holds everything the kernel accepted), the
// state a disk would have after a power cut: a file's data, mode and mtime
// as of its last fsync, and a directory's entries as of its last fsync.
// A file created and written but never fsynced comes back empty, or not at
// all when its directory was not fsynced either; a rename is undone unless
// its directory was fsynced. PowerCut rewrites the backing directory to
// that state.
//
// Cut points are counted in state-changing operations (create, mkdir,
// mknod, rename, unlink, rmdir, symlink, link, setattr, write, fsync,
// fsyncdir, fallocate), so a test can cut after exactly n of them:
// CutAfter(n) lets n more through and fails every later one with EIO, as a
// machine that lost power stops writing. Reads still succeed, so the
// program under test winds down on its own errors.

// durable is the state that survives a power cut, keyed by inode number
// of the backing file system (tmpfs and ext4 do not reuse a number while
// a test runs).
type durable struct {
	mu    sync.Mutex
	root  uint64
	files map[uint64]fileState
	dirs  map[uint64]map[string]dentry
}

// fileState is a regular file as of its last fsync.
type fileState struct {
	data  []byte
	mode  uint32
	mtime time.Time
}

// dentry is one directory entry as of its directory's last fsync.
type dentry struct {
	ino    uint64
	mode   uint32 // type and permission bits
	target string // symlink target
}

// power is the cut-point counter and the durable state.
type power struct {
	state   durable
	dark    chan struct{} // closed when the power goes off
	errno   syscall.Errno // what operations fail with once it is off
	mu      sync.Mutex
	left    int64 // state-changing operations still allowed; <0 = unlimited
	off     bool
	changes int64 // state-changing operations accepted so far
}

// snapshot makes everything under backing durable: the state right after
// a mount, or after a power cut was restored.
func (p *power) snapshot(backing string) error {
	d := &p.state
	d.mu.Lock()
	defer d.mu.Unlock()
	d.files, d.dirs = map[uint64]fileState{}, map[uint64]map[string]dentry{}
	var st unix.Stat_t
	if err := unix.Lstat(backing, &st); err != nil {
		return fmt.Errorf("faultfs: snapshot %s: %w", backing, err)
	}
	d.root = st.Ino
	return filepath.WalkDir(backing, func(p string, de os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			entries, err := readEntries(p)
			if err != nil {
				return err
			}
			d.dirs[st.Ino] = entries
		case unix.S_IFREG:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			d.files[st.Ino] = fileState{data: data, mode: st.Mode, mtime: time.Unix(st.Mtim.Unix())}
		}
		return nil
	})
}

// readEntries lists the directory at p as dentries.
func readEntries(p string) (map[string]dentry, error) {
	des, err := os.ReadDir(p)
	if err != nil {
		return nil, err
	}
	out := make(map[string]dentry, len(des))
	for _, de := range des {
		var st unix.Stat_t
		child := filepath.Join(p, de.Name())
		if err := unix.Lstat(child, &st); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			return nil, err
		}
		e := dentry{ino: st.Ino, mode: st.Mode}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			if e.target, err = os.Readlink(child); err != nil {
				return nil, err
			}
		}
		out[de.Name()] = e
	}
	return out, nil
}

// change admits one state-changing operation, or reports EIO once the
// power is off.
func (p *power) change() syscall.Errno {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.off {
		return p.errno
	}
	if p.left == 0 {
		p.switchOff()
		return p.errno
	}
	if p.left > 0 {
		p.left--
	}
	p.changes++
	return 0
}

// switchOff turns the power off; p.mu is held.
func (p *power) switchOff() {
	if !p.off {
		p.off = true
		close(p.dark)
	}
}

// PoweredOff is closed when the power goes off (the cut point of CutAfter
// is reached, or PowerCut is called), so a test can stop the program under
// test at once instead of waiting out its retries. It needs
// Options.PowerLoss.
func (f *FS) PoweredOff() <-chan struct{} { return f.power.dark }

// syncFile makes the file open as fd durable: its content, mode and mtime.
func (p *power) syncFile(fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	// The handle may be write-only: read through a fresh descriptor.
	data, err := os.ReadFile("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return err
	}
	p.state.mu.Lock()
	p.state.files[st.Ino] = fileState{data: data, mode: st.Mode, mtime: time.Unix(st.Mtim.Unix())}
	p.state.mu.Unlock()
	return nil
}

// syncDir makes the entries of the directory at path durable.
func (p *power) syncDir(path string) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return err
	}
	entries, err := readEntries(path)
	if err != nil {
		return err
	}
	p.state.mu.Lock()
	p.state.dirs[st.Ino] = entries
	p.state.mu.Unlock()
	return nil
}

// restore empties backing and writes the durable state into it.
func (d *durable) restore(backing string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	des, err := os.ReadDir(backing)
	if err != nil {
		return err
	}
	for _, de := range des {
		if err := os.RemoveAll(filepath.Join(backing, de.Name())); err != nil {
			return err
		}
	}
	linked := map[uint64]string{} // hard links: the first path made for an inode
	return d.restoreDir(backing, d.root, linked)
}

func (d *durable) restoreDir(path string, ino uint64, linked map[uint64]string) error {
	for name, e := range d.dirs[ino] {
		p := filepath.Join(path, name)
		switch e.mode & unix.S_IFMT {
		case unix.S_IFDIR:
			if err := os.Mkdir(p, os.FileMode(e.mode&0o777)|0o700); err != nil {
				return err
			}
			if err := d.restoreDir(p, e.ino, linked); err != nil {
				return err
			}
			if err := unix.Chmod(p, e.mode&0o7777); err != nil {
				return err
			}
		case unix.S_IFLNK:
			if err := os.Symlink(e.target, p); err != nil {
				return err
			}
		case unix.S_IFREG:
			if first, ok := linked[e.ino]; ok {
				if err := os.Link(first, p); err != nil {
					return err
				}
				continue
			}
			linked[e.ino] = p
			if err := d.restoreFile(p, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// restoreFile writes a file as of its last fsync: empty if it never had
// one (its name was durable, its data was not).
func (d *durable) restoreFile(p string, e dentry) error {
	fs, ok := d.files[e.ino]
	if !ok {
		fs = fileState{mode: e.mode}
	}
	if err := os.WriteFile(p, fs.data, 0o600); err != nil {
		return err
	}
	if err := unix.Chmod(p, fs.mode&0o7777); err != nil {
		return err
	}
	if !fs.mtime.IsZero() {
		return os.Chtimes(p, fs.mtime, fs.mtime)
	}
	return nil
}

// CutAfter lets n more state-changing operations through; every later
// one fails with Options.CutErrno (EIO), as if the power went off right
// after the nth. A
// negative n removes the limit. It needs Options.PowerLoss.
func (f *FS) CutAfter(n int64) {
	f.power.mu.Lock()
	f.power.left = n
	f.power.mu.Unlock()
}

// Changes counts the state-changing operations accepted so far, so a test
// can learn how many cut points one run offers.
func (f *FS) Changes() int64 {
	f.power.mu.Lock()
	defer f.power.mu.Unlock()
	return f.power.changes
}

// PowerCut turns the power off, unmounts, and rewrites the backing
// directory to what a disk would hold after the cut: only what fsync made
// durable. Mount the backing directory again (Start) to go on; everything
// it then holds is durable. The program using the mount must have closed
// every file on it first, or the unmount fails.
func (f *FS) PowerCut() error {
	if f.power == nil {
		return errors.New("faultfs: PowerCut needs Options.PowerLoss")
	}
	f.power.mu.Lock()
	f.power.switchOff()
	f.power.mu.Unlock()
	if err := f.Close(); err != nil {
		return err
	}
	if err := f.power.state.restore(f.backing); err != nil {
		return fmt.Errorf("faultfs: restore the durable state of %s: %w", f.backing, err)
	}
	return nil
}
