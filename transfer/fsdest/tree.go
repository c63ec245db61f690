package fsdest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/efssync/efssync/transfer"
)

// IsTempName reports whether name is exactly the shape of the temp files
// fsdest creates: TempPrefix, an optional tag and "-", then 16 lowercase
// hex digits. Only such names are hidden from List and removed by
// Cleanup; any other name, even one starting with TempPrefix, is an
// ordinary file. A source entry for which IsTempName is true cannot be
// replicated faithfully (the destination would hide it), so the agent
// must skip it and report it as unsupported.
func IsTempName(name string) bool {
	rest, ok := strings.CutPrefix(name, TempPrefix)
	if !ok {
		// A resumable restore's kept temp file is hidden the same way.
		rest, ok = strings.CutPrefix(name, PartPrefix)
	}
	if !ok || len(rest) < 16 {
		return false
	}
	if tag := rest[:len(rest)-16]; tag != "" {
		if !strings.HasSuffix(tag, "-") || strings.ContainsAny(tag[:len(tag)-1], "-/") || len(tag) == 1 {
			return false
		}
	}
	return isHex(rest[len(rest)-16:])
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ownTemp reports whether name is a temp file of this agent (same tag).
func (d *Dest) ownTemp(name string) bool {
	return ownName(name, d.tempPrefix)
}

// ownPart reports whether name is a kept part file of this agent (same
// tag): partName's shape.
func (d *Dest) ownPart(name string) bool {
	return ownName(name, PartPrefix+d.opts.TempTag+"-")
}

func ownName(name, prefix string) bool {
	return IsTempName(name) && strings.HasPrefix(name, prefix) && len(name) == len(prefix)+16 && isHex(name[len(prefix):])
}

// leftover reports whether the entry name at path is what a crashed run of
// this agent left: a temp file, or a kept part file that keep (given the
// part file's path) says no checkpoint will resume. A part file whose run
// died before its first checkpoint is named by none, so it goes too.
func (d *Dest) leftover(st *unix.Stat_t, path, name string, keep func(string) bool) bool {
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return false
	}
	return d.ownTemp(name) || d.ownPart(name) && keep != nil && !keep(path)
}

// visitFunc sees one entry of a walk: dirfd is its directory, open for
// *at calls on name.
type visitFunc func(dirfd int, rel, name string, st *unix.Stat_t) error

// walk visits every entry below the root in lexical order, a directory
// before its contents. Each directory is opened relative to its parent's
// descriptor with O_NOFOLLOW, so a symlink is reported, never descended,
// and a directory swapped for a link during the walk is not entered.
func (d *Dest) walk(ctx context.Context, visit visitFunc) error {
	fd, err := d.openBeneathRoot(".", unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return fmt.Errorf("open %s: %w", d.root, classify(err))
	}
	return d.walkDir(ctx, fd, "", visit)
}

// walkDir walks the open directory fd (relative path rel, "" for the
// root) and closes it.
func (d *Dest) walkDir(ctx context.Context, fd int, rel string, visit visitFunc) error {
	f := os.NewFile(uintptr(fd), d.absOf(rel))
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("list %s: %w", d.absOf(rel), classify(err))
	}
	slices.Sort(names)
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		child := name
		if rel != "" {
			child = rel + "/" + name
		}
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if err == unix.ENOENT {
				continue
			}
			return fmt.Errorf("list %s: %w", d.absOf(child), classify(err))
		}
		if err := visit(fd, child, name, &st); err != nil {
			return err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		cfd, err := openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
		if err == unix.ENOENT {
			continue
		}
		if err != nil {
			return fmt.Errorf("list %s: %w", d.absOf(child), classify(symlinkErr(err)))
		}
		if err := d.walkDir(ctx, cfd, child, visit); err != nil {
			return err
		}
	}
	return nil
}

// List implements transfer.Lister. Temp files are not reported; symlinks
// are reported as links and never descended.
func (d *Dest) List(ctx context.Context, fn func(rel string, m transfer.Meta) error) error {
	return d.walk(ctx, func(_ int, rel, name string, st *unix.Stat_t) error {
		if IsTempName(name) {
			return nil
		}
		return fn(rel, metaOfStat(st))
	})
}

// Leftovers implements transfer.LeftoverLister: it reports the temp files
// a crashed run of this agent (same TempTag) left behind, and its part
// files that keep does not keep, removing nothing.
func (d *Dest) Leftovers(ctx context.Context, keep func(string) bool, fn func(what string) error) error {
	return d.walk(ctx, func(_ int, rel, name string, st *unix.Stat_t) error {
		if !d.leftover(st, d.absOf(rel), name, keep) {
			return nil
		}
		return fn(d.absOf(rel))
	})
}

// Cleanup implements transfer.Cleaner: it removes temp files a crashed run
// of this agent (same TempTag) left behind. It walks the whole destination,
// so the agent calls it only after a run that did not end cleanly.
// keep is asked about each kept part file of this agent, by its path: the
// agent keeps those a checkpoint names, for the next copy to resume.
func (d *Dest) Cleanup(ctx context.Context, keep func(string) bool) (int, error) {
	n := 0
	err := d.walk(ctx, func(dirfd int, rel, name string, st *unix.Stat_t) error {
		if !d.leftover(st, d.absOf(rel), name, keep) {
			return nil
		}
		if err := unix.Unlinkat(dirfd, name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("remove leftover %s: %w", d.absOf(rel), err)
		}
		n++
		return nil
	})
	return n, err
}
