// Package shardstat walks a configuration's sources dry and tallies the
// files and bytes each of N shards would own, so an operator can choose N
// and see the balance before starting N hosts (`efssync shards`). It reads
// no file and touches no destination or manifest.
package shardstat

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/efssync/efssync/agent/shard"
	"github.com/efssync/efssync/agent/walk"
	"github.com/efssync/efssync/config"
)

// Share is what one shard would own.
type Share struct {
	// Files counts regular files and symlinks; every name of a hard link.
	Files int64 `json:"files"`
	// Bytes counts the content of regular files, a hard-linked inode once.
	Bytes int64 `json:"bytes"`
}

// Tally is the result of a dry walk.
type Tally struct {
	Shards []Share `json:"shards"`
	// Dirs counts the directories every shard lists.
	Dirs int64 `json:"dirs"`
}

// Count walks the sources of jobs (every job when names is empty) and
// tallies them over count shards with shard.Of and shard.Links, as the
// sharded agent assigns them. Symlinks are not followed; the jobs' include
// and exclude rules apply.
func Count(ctx context.Context, cfg *config.Config, names []string, count int) (*Tally, error) {
	if count < 1 || count > config.MaxShardCount {
		return nil, fmt.Errorf("shard count must be from 1 to %d, got %d", config.MaxShardCount, count)
	}
	t := &Tally{Shards: make([]Share, count)}
	for _, j := range cfg.Jobs {
		if len(names) > 0 && !slices.Contains(names, j.Name) {
			continue
		}
		if err := t.walk(ctx, j, count); err != nil {
			return nil, fmt.Errorf("job %s: %w", j.Name, err)
		}
	}
	return t, nil
}

// walk tallies one job's source.
func (t *Tally) walk(ctx context.Context, j config.Job, count int) error {
	filter, err := walk.NewFilter(j.Include, j.Exclude)
	if err != nil {
		return err
	}
	links := shard.NewLinks(count)
	sizes := map[string]int64{}
	err = filepath.WalkDir(j.Source, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == j.Source {
			t.Dirs++
			return nil
		}
		rel, err := filepath.Rel(j.Source, p)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		rel = filepath.ToSlash(rel)
		if filter.Excluded(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case d.IsDir():
			t.Dirs++
		case d.Type()&fs.ModeSymlink != 0:
			t.Shards[shard.Of(rel, count)].Files++
		case d.Type().IsRegular():
			return t.file(p, rel, d, links, sizes)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("walk %s: %w", j.Source, err)
	}
	for _, g := range links.Rest() {
		t.add(g, sizes)
	}
	return nil
}

// file tallies one regular file, through the hard-link grouping when it
// has more than one name.
func (t *Tally) file(p, rel string, d fs.DirEntry, links *shard.Links, sizes map[string]int64) error {
	info, err := d.Info()
	if err != nil {
		return fmt.Errorf("lstat %s: %w", p, err)
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || st.Nlink <= 1 {
		s := &t.Shards[shard.Of(rel, len(t.Shards))]
		s.Files++
		s.Bytes += info.Size()
		return nil
	}
	sizes[rel] = info.Size()
	if g, done := links.Add(uint64(st.Dev), st.Ino, uint64(st.Nlink), rel); done {
		t.add(g, sizes)
	}
	return nil
}

// add tallies a complete hard-link group in its owner's share.
func (t *Tally) add(g shard.Group, sizes map[string]int64) {
	s := &t.Shards[g.Owner]
	s.Files += int64(len(g.Names))
	s.Bytes += sizes[g.Names[0]]
	for _, n := range g.Names {
		delete(sizes, n)
	}
}
