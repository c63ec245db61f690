package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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

// walk streams the source tree depth-first in lexical order, one directory
// listing in memory per level, calling fn for every entry the filter keeps.
// Symlinks are reported, never followed, so loops and links out of the root
// cannot lead the walk astray. A directory that vanishes mid-walk is skipped.
// onErr receives per-path errors that do not stop the walk.
func walk(ctx context.Context, root string, f *Filter, fn func(Entry) error, onErr func(rel string, err error)) error {
	var visit func(rel, abs string) error
	visit = func(rel, abs string) error {
		des, err := os.ReadDir(abs)
		if err != nil {
			if rel != "" && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if rel == "" {
				return fmt.Errorf("read source directory %s: %w", abs, err)
			}
			onErr(rel, fmt.Errorf("read directory %s: %w", abs, err))
			return nil
		}
		for _, de := range des {
			if err := ctx.Err(); err != nil {
				return err
			}
			crel := de.Name()
			if rel != "" {
				crel = rel + "/" + de.Name()
			}
			cabs := filepath.Join(abs, de.Name())
			isDir := de.IsDir()
			if f.Excluded(crel, isDir) {
				continue
			}
			fi, err := de.Info()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				onErr(crel, fmt.Errorf("stat %s: %w", cabs, err))
				continue
			}
			if err := fn(Entry{Rel: crel, Abs: cabs, Info: fi}); err != nil {
				return err
			}
			if isDir {
				if err := visit(crel, cabs); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return visit("", root)
}
