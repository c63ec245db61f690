package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Entry is one walked source path with what lstat said about it.
type Entry struct {
	Rel  string // slash-separated, relative to the source root
	Abs  string
	Info fs.FileInfo
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
		s.ino = st.Ino
		s.dev = uint64(st.Dev)
		s.nlink = uint64(st.Nlink)
		s.uid, s.gid = int(st.Uid), int(st.Gid)
	}
	return s
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
// directory, in lexical order, and returns before any of its subdirectories
// is listed, so a directory is always handled before its contents. Only one
// listing per worker and the paths of directories still to visit are held
// in memory. Symlinks are reported, never followed, so loops and links out
// of the root cannot lead the walk astray. A directory that vanishes
// mid-walk is skipped; other per-path errors go to onErr and the walk goes
// on. An unreadable root, an error from fn, or ctx ending stops it.
func walkDirs(ctx context.Context, root string, f *Filter, workers int, fn func([]Entry) error, onErr func(rel string, err error)) error {
	type dir struct{ rel, abs string }
	var (
		mu       sync.Mutex
		cond     = sync.NewCond(&mu)
		stack    = []dir{{"", root}}
		busy     int
		firstErr error
	)
	visit := func(d dir) ([]dir, error) {
		des, err := os.ReadDir(d.abs)
		if err != nil {
			if d.rel == "" {
				return nil, fmt.Errorf("read source directory %s: %w", d.abs, err)
			}
			if !errors.Is(err, fs.ErrNotExist) {
				onErr(d.rel, fmt.Errorf("read directory %s: %w", d.abs, err))
			}
			return nil, nil
		}
		entries := make([]Entry, 0, len(des))
		var subdirs []dir
		for _, de := range des {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			crel := de.Name()
			if d.rel != "" {
				crel = d.rel + "/" + de.Name()
			}
			if f.Excluded(crel, de.IsDir()) {
				continue
			}
			cabs := filepath.Join(d.abs, de.Name())
			fi, err := de.Info()
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					onErr(crel, fmt.Errorf("stat %s: %w", cabs, err))
				}
				continue
			}
			entries = append(entries, Entry{Rel: crel, Abs: cabs, Info: fi})
			if fi.IsDir() {
				subdirs = append(subdirs, dir{crel, cabs})
			}
		}
		if err := fn(entries); err != nil {
			return nil, err
		}
		return subdirs, nil
	}
	worker := func() {
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
			subdirs, err := visit(d)
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
