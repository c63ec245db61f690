package walk

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Entry is one walked source path with what lstat said about it.
type Entry struct {
	Rel  string // slash-separated, relative to the source root
	Mode fs.FileMode
	St   Stat
	root string // the cleaned source root
}

// Abs is the entry's absolute path. It is built on demand: an unchanged
// file never needs it, and a walk of millions of files would otherwise
// make one string per file for nothing.
func (e Entry) Abs() string {
	switch {
	case e.Rel == "":
		return e.root
	case e.root == "/":
		return "/" + e.Rel
	}
	return e.root + "/" + e.Rel
}

// EntryOf makes the Entry of a path stat'ed on its own (watch mode).
func EntryOf(root, rel string, fi fs.FileInfo) Entry {
	return Entry{Rel: rel, root: filepath.Clean(root), Mode: fi.Mode(), St: StatOf(fi)}
}

// Stat is the part of lstat the manifest compares.
type Stat struct {
	Size  int64
	Mtime time.Time
	Ctime time.Time
	Ino   uint64
	Dev   uint64
	Nlink uint64
	Uid   int
	Gid   int
}

func StatOf(fi fs.FileInfo) Stat {
	s := Stat{Size: fi.Size(), Mtime: fi.ModTime(), Uid: -1, Gid: -1}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.Ctime = time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
		s.Ino, s.Dev, s.Nlink = st.Ino, uint64(st.Dev), uint64(st.Nlink)
		s.Uid, s.Gid = int(st.Uid), int(st.Gid)
	}
	return s
}

// StatOfUnix is StatOf for a raw stat result.
func StatOfUnix(st *unix.Stat_t) Stat {
	return Stat{Size: st.Size, Mtime: time.Unix(st.Mtim.Sec, st.Mtim.Nsec), Ctime: time.Unix(st.Ctim.Sec, st.Ctim.Nsec),
		Ino: st.Ino, Dev: uint64(st.Dev), Nlink: uint64(st.Nlink), Uid: int(st.Uid), Gid: int(st.Gid)}
}

// Tree streams the source tree in one goroutine, depth-first in lexical
// order, calling fn for every entry the filter keeps. See Dirs.
func Tree(ctx context.Context, root string, f *Filter, fn func(Entry) error, onErr func(rel string, err error)) error {
	return Dirs(ctx, root, f, 1, func(entries []Entry) error {
		for _, e := range entries {
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	}, onErr)
}

// Dirs walks the source tree with up to workers goroutines, each
// listing one directory at a time: fn receives the kept entries of one
// directory, in lexical order (in a slice the worker reuses once fn has
// returned), and returns before any of its subdirectories is listed, so a
// directory is always handled before its contents. Only one listing per
// worker and the paths of directories still to visit are held in memory. Symlinks are reported, never followed, so loops and links out
// of the root cannot lead the walk astray. A directory that vanishes
// mid-walk is skipped; other per-path errors go to onErr and the walk goes
// on. An unreadable root, an error from fn, or ctx ending stops it.
func Dirs(ctx context.Context, root string, f *Filter, workers int, fn func([]Entry) error, onErr func(rel string, err error)) error {
	type dir struct{ rel, abs string }
	root = filepath.Clean(root)
	var (
		mu       sync.Mutex
		cond     = sync.NewCond(&mu)
		stack    = []dir{{"", root}}
		busy     int
		firstErr error
	)
	visit := func(d dir, sc *dirScratch) ([]dir, error) {
		entries, err := listDir(ctx, root, d.rel, d.abs, f, onErr, sc)
		defer func() { clear(entries); sc.entries = entries[:0] }() // reused by the worker's next directory
		if err != nil {
			if d.rel == "" {
				return nil, fmt.Errorf("read source directory %s: %w", d.abs, err)
			}
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ELOOP) {
				// Gone, or now a symlink: the next run sees what is there.
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
				subdirs = append(subdirs, dir{e.Rel, e.Abs()})
			}
		}
		if err := fn(entries); err != nil {
			return nil, err
		}
		return subdirs, nil
	}
	worker := func() {
		var sc dirScratch
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
			subdirs, err := visit(d, &sc)
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

// dirScratch is what one walk worker reuses from directory to directory,
// so listing a directory allocates, per kept entry, only its path and
// fstatat's copy of its name.
type dirScratch struct {
	entries []Entry
	raw     []byte   // getdents64 buffer
	names   []byte   // every name of the directory, one after the other
	ents    []dirent // the names, to be sorted
}

// dirent is one name in dirScratch.names.
type dirent struct {
	off, len int
	typ      uint8 // DT_* as getdents reports it
}

// listDir lists one directory in name order and lstats each entry the
// filter keeps (the filter sees the type getdents reports), relative to the
// open directory: one path component per stat instead of the whole path,
// which is most of an unchanged run's system time. Entries that vanish
// before their stat are left out; other stat errors go to onErr.
func listDir(ctx context.Context, root, rel, abs string, f *Filter, onErr func(rel string, err error), sc *dirScratch) ([]Entry, error) {
	// A raw open: os.Open would register the directory with the poller
	// and set its flags, four wasted syscalls per directory. No symlink is
	// followed: one put in place of a listed directory is refused.
	dirfd, err := OpenNoSymlinks(abs, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: abs, Err: err}
	}
	defer unix.Close(dirfd) // after the last fstatat on dirfd
	if err := sc.readDir(dirfd); err != nil {
		return nil, &fs.PathError{Op: "readdirent", Path: abs, Err: err}
	}
	names := sc.names
	name := func(d dirent) []byte { return names[d.off : d.off+d.len] }
	slices.SortFunc(sc.ents, func(a, b dirent) int { return bytes.Compare(name(a), name(b)) })
	entries := slices.Grow(sc.entries[:0], len(sc.ents))
	for _, d := range sc.ents {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// The name as a string without a copy: it is only read while
		// names is, and every kept path is copied into crel.
		nm := unsafe.String(&names[d.off], d.len)
		crel := nm
		if rel != "" {
			crel = rel + "/" + nm
		} else {
			crel = strings.Clone(nm)
		}
		// Some file systems leave the type to the stat: filter after it.
		typed := d.typ != unix.DT_UNKNOWN
		if typed && f.Excluded(crel, d.typ == unix.DT_DIR) {
			continue
		}
		var st unix.Stat_t
		if !lstatAt(dirfd, nm, crel, abs, &st, onErr) {
			continue
		}
		if !typed && f.Excluded(crel, st.Mode&unix.S_IFMT == unix.S_IFDIR) {
			continue
		}
		entries = append(entries, Entry{Rel: crel, root: root, Mode: FileMode(st.Mode), St: StatOfUnix(&st)})
	}
	return entries, nil
}

// lstatAt stats name in the directory open at dirfd. A name that vanished
// gives false quietly; another error goes to onErr.
func lstatAt(dirfd int, name, crel, abs string, st *unix.Stat_t, onErr func(rel string, err error)) bool {
	err := unix.Fstatat(dirfd, name, st, unix.AT_SYMLINK_NOFOLLOW)
	for err == unix.EINTR {
		err = unix.Fstatat(dirfd, name, st, unix.AT_SYMLINK_NOFOLLOW)
	}
	if err != nil {
		if err != unix.ENOENT {
			onErr(crel, fmt.Errorf("stat %s: %w", filepath.Join(abs, name), err))
		}
		return false
	}
	return true
}

// readDir reads every name of the directory open at fd into sc.names and
// sc.ents, leaving out . and ..
func (sc *dirScratch) readDir(fd int) error {
	if sc.raw == nil {
		sc.raw = make([]byte, 32<<10)
	}
	sc.names, sc.ents = sc.names[:0], sc.ents[:0]
	for {
		n, err := unix.Getdents(fd, sc.raw)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n <= 0 {
			return nil
		}
		if err := sc.parse(sc.raw[:n]); err != nil {
			return err
		}
	}
}

// linux_dirent64: d_ino u64, d_off s64, d_reclen u16, d_type u8, then
// the NUL-terminated name.
const direntNameOff = 19

// parse appends the names of one getdents64 result.
func (sc *dirScratch) parse(b []byte) error {
	for len(b) > 0 {
		if len(b) < direntNameOff {
			return fmt.Errorf("short dirent record: %w", unix.EIO)
		}
		reclen := int(binary.NativeEndian.Uint16(b[16:18]))
		if reclen < direntNameOff || reclen > len(b) {
			return fmt.Errorf("dirent record length %d: %w", reclen, unix.EIO)
		}
		rec := b[direntNameOff:reclen]
		if i := bytes.IndexByte(rec, 0); i >= 0 {
			rec = rec[:i]
		}
		if len(rec) > 0 && !(len(rec) == 1 && rec[0] == '.') && !(len(rec) == 2 && rec[0] == '.' && rec[1] == '.') {
			sc.ents = append(sc.ents, dirent{off: len(sc.names), len: len(rec), typ: b[18]})
			sc.names = append(sc.names, rec...)
		}
		b = b[reclen:]
	}
	return nil
}

// FileMode turns a stat mode into an fs.FileMode, as os.Lstat does.
func FileMode(m uint32) fs.FileMode {
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
