package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Entry is one walked source path with what lstat said about it.
type Entry struct {
	Rel  string // slash-separated, relative to the source root
	Abs  string
	Mode fs.FileMode
	st   stat
}

// entryOf makes the Entry of a path stat'ed on its own (watch mode).
func entryOf(rel, abs string, fi fs.FileInfo) Entry {
	return Entry{Rel: rel, Abs: abs, Mode: fi.Mode(), st: statOf(fi)}
}

// stat is the part of lstat the manifest compares.
type stat struct {
	size  int64
	mtime time.Time
	ctime time.Time
	ino   uint64
	dev   uint64
	nlink uint64
	uid   int
	gid   int
}

func statOf(fi fs.FileInfo) stat {
	s := stat{size: fi.Size(), mtime: fi.ModTime(), uid: -1, gid: -1}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.ctime = time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
		s.ino, s.dev, s.nlink = st.Ino, uint64(st.Dev), uint64(st.Nlink)
		s.uid, s.gid = int(st.Uid), int(st.Gid)
	}
	return s
}

// statOfUnix is statOf for a raw stat result.
func statOfUnix(st *unix.Stat_t) stat {
	return stat{size: st.Size, mtime: time.Unix(st.Mtim.Sec, st.Mtim.Nsec), ctime: time.Unix(st.Ctim.Sec, st.Ctim.Nsec),
		ino: st.Ino, dev: uint64(st.Dev), nlink: uint64(st.Nlink), uid: int(st.Uid), gid: int(st.Gid)}
}

// walk streams the source tree in one goroutine, depth-first in lexical
// order, calling fn for every entry the filter keeps. See walkDirs.
func walk(ctx context.Context, root string, f *Filter, fn func(Entry) error, onErr func(rel string, err error)) error {
	return walkDirs(ctx, root, f, 1, func(entries []Entry) error {
		for _, e := range entries {
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	}, onErr)
}

// walkDirs walks the source tree with up to workers goroutines, each
// listing one directory at a time: fn receives the kept entries of one
// directory, in lexical order (in a slice the worker reuses once fn has
// returned), and returns before any of its subdirectories is listed, so a
// directory is always handled before its contents. Only one listing per
// worker and the paths of directories still to visit are held in memory. Symlinks are reported, never followed, so loops and links out
// of the root cannot lead the walk astray. A directory that vanishes
// mid-walk is skipped; other per-path errors go to onErr and the walk goes
// on. An unreadable root, an error from fn, or ctx ending stops it.
func walkDirs(ctx context.Context, root string, f *Filter, workers int, fn func([]Entry) error, onErr func(rel string, err error)) error {
	type dir struct{ rel, abs string }
	var (
		mu       sync.Mutex
		cond     = sync.NewCond(&mu)
		stack    = []dir{{"", filepath.Clean(root)}}
		busy     int
		firstErr error
	)
	visit := func(d dir, buf *[]Entry) ([]dir, error) {
		entries, err := listDir(ctx, d.rel, d.abs, f, onErr, (*buf)[:0])
		defer func() { clear(entries); *buf = entries }() // reused by the worker's next directory
		if err != nil {
			if d.rel == "" {
				return nil, fmt.Errorf("read source directory %s: %w", d.abs, err)
			}
			if errors.Is(err, fs.ErrNotExist) {
				return nil, nil
			}
			if ctx.Err() != nil {
				return nil, err
			}
			onErr(d.rel, fmt.Errorf("read directory %s: %w", d.abs, err))
			return nil, nil
		}
		var subdirs []dir
		for _, e := range entries {
			if e.Mode.IsDir() {
				subdirs = append(subdirs, dir{e.Rel, e.Abs})
			}
		}
		if err := fn(entries); err != nil {
			return nil, err
		}
		return subdirs, nil
	}
	worker := func() {
		var buf []Entry
		for {
			mu.Lock()
			for len(stack) == 0 && busy > 0 && firstErr == nil {
				cond.Wait()
			}
			if firstErr != nil || len(stack) == 0 {
				mu.Unlock()
				cond.Broadcast()
				return
			}
			d := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			busy++
			mu.Unlock()
			subdirs, err := visit(d, &buf)
			mu.Lock()
			busy--
			if err != nil && firstErr == nil {
				firstErr = err
			}
			for i := len(subdirs) - 1; i >= 0; i-- {
				stack = append(stack, subdirs[i])
			}
			mu.Unlock()
			cond.Broadcast()
		}
	}
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(worker)
	}
	wg.Wait()
	return firstErr
}

// listDir lists one directory in name order and lstats each entry the
// filter keeps (the filter sees the type getdents reports), relative to the
// open directory: one path component per stat instead of the whole path,
// which is most of an unchanged run's system time. Entries that vanish before their stat are left out; other
// stat errors go to onErr.
func listDir(ctx context.Context, rel, abs string, f *Filter, onErr func(rel string, err error), entries []Entry) ([]Entry, error) {
	// A raw open: os.Open would register the directory with the poller
	// and set its flags, four wasted syscalls per directory.
	dirfd, err := unix.Open(abs, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	for err == unix.EINTR {
		dirfd, err = unix.Open(abs, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: abs, Err: err}
	}
	dirf := os.NewFile(uintptr(dirfd), abs)
	defer dirf.Close() // after the last fstatat on dirfd
	des, err := dirf.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(des, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	entries = slices.Grow(entries, len(des))
	for _, de := range des {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := de.Name()
		crel := name
		if rel != "" {
			crel = rel + "/" + name
		}
		if f.Excluded(crel, de.IsDir()) {
			continue
		}
		cabs := abs + "/" + name
		if abs == "/" {
			cabs = abs + name
		}
		var st unix.Stat_t
		serr := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
		for serr == unix.EINTR {
			serr = unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
		}
		if serr != nil {
			if serr != unix.ENOENT {
				onErr(crel, fmt.Errorf("stat %s: %w", cabs, serr))
			}
			continue
		}
		entries = append(entries, Entry{Rel: crel, Abs: cabs, Mode: fileMode(st.Mode), st: statOfUnix(&st)})
	}
	return entries, nil
}

// fileMode turns a stat mode into an fs.FileMode, as os.Lstat does.
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&syscall.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&syscall.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&syscall.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	switch m & syscall.S_IFMT {
	case syscall.S_IFREG:
	case syscall.S_IFDIR:
		mode |= fs.ModeDir
	case syscall.S_IFLNK:
		mode |= fs.ModeSymlink
	case syscall.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case syscall.S_IFSOCK:
		mode |= fs.ModeSocket
	case syscall.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFBLK:
		mode |= fs.ModeDevice
	default:
		mode |= fs.ModeIrregular
	}
	return mode
}
