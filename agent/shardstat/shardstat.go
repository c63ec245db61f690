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

// Share is what one shard would own: files (every name that is not a
// directory) and bytes (of regular files, a hard-linked inode once).
type Share = shard.Share

// Tally is the result of a dry walk.
type Tally struct {
	Shards []Share `json:"shards"`
	// Dirs counts the directories every shard lists.
	Dirs int64 `json:"dirs"`
}

// Count walks the sources of jobs (every job when names is empty) and
// tallies them over count shards with shard.Partition, exactly as the
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

// walk tallies one job's source. Each job is partitioned on its own, as
// the agent does.
func (t *Tally) walk(ctx context.Context, j config.Job, count int) error {
	filter, err := walk.NewFilter(j.Include, j.Exclude)
	if err != nil {
		return err
	}
	part := shard.NewPartition[struct{}](count)
	none := func(int, struct{}) error { return nil }
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
		if d.IsDir() {
			t.Dirs++
			return nil
		}
		e, err := entry(p, rel, d)
		if err != nil {
			return err
		}
		return part.Add(e, struct{}{}, none)
	})
	if err != nil {
		return fmt.Errorf("walk %s: %w", j.Source, err)
	}
	if err := part.Finish(none); err != nil {
		return err
	}
	for i, s := range part.Shares() {
		t.Shards[i].Files += s.Files
		t.Shards[i].Bytes += s.Bytes
	}
	return nil
}

// entry is what the partition needs of the entry d at p: a regular file's
// size and, when it has more than one name, its inode.
func entry(p, rel string, d fs.DirEntry) (shard.Entry, error) {
	e := shard.Entry{Rel: rel}
	if !d.Type().IsRegular() {
		return e, nil
	}
	info, err := d.Info()
	if err != nil {
		return e, fmt.Errorf("lstat %s: %w", p, err)
	}
	e.Size = info.Size()
	if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
		e.Dev, e.Ino, e.Nlink = uint64(st.Dev), st.Ino, uint64(st.Nlink)
	}
	return e, nil
}
