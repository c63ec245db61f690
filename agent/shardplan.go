package agent

import (
	"context"
	"sync/atomic"

	"github.com/efssync/efssync/agent/shard"
	"github.com/efssync/efssync/agent/walk"
	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/manifest"
	"github.com/efssync/efssync/transfer"
)

// shardPlan is the filter a sharded job puts in front of the plan step, so
// that this agent handles only its own part of the tree while it walks all
// of it (docs/scale-out.md). Directories go through to every shard: each
// creates the ones its files need, idempotently, with the same mode. Every
// other entry goes through shard.Partition, which every shard computes
// alike from its own walk: most entries are decided, and planned, as they
// arrive; the names of hard-linked files wait for their group, and the
// largest files for the end of the walk (finish). It is nil for an
// unsharded job.
type shardPlan struct {
	s    config.Shard
	part *shard.Partition[heldEntry]
	// tree counts every entry of the walk, this shard's or not: the whole
	// tree's size, for the mirror-delete guard.
	tree atomic.Int64
}

// heldEntry is a walked entry with its manifest record, as the partition
// holds it until its shard is decided.
type heldEntry struct {
	e     walk.Entry
	rec   manifest.Record
	known bool
}

// newShardPlan returns the filter of shard s, or nil when s is the whole tree.
func newShardPlan(s config.Shard) *shardPlan {
	if !s.Sharded() {
		return nil
	}
	return &shardPlan{s: s, part: shard.NewPartition[heldEntry](s.Count)}
}

// owns reports whether this shard owns rel by its path's hash: the rule
// for what has no size to place it by (a path gone from the source, a
// directory's owner). Every path when the job is not sharded.
func (p *shardPlan) owns(rel string) bool {
	return p == nil || shard.Owns(p.s, rel)
}

// admit passes h to do when h's entry, which is not a directory, is this
// shard's: now, or from a later admit or finish that decides it. Every
// entry when the job is not sharded.
func (p *shardPlan) admit(h heldEntry, do func(heldEntry) error) error {
	if p == nil {
		return do(h)
	}
	e := shard.Entry{Rel: h.e.Rel}
	if h.e.Mode.IsRegular() {
		e.Size = h.e.St.Size
		if h.e.St.Nlink > 1 {
			e.Dev, e.Ino, e.Nlink = h.e.St.Dev, h.e.St.Ino, h.e.St.Nlink
		}
	}
	return p.part.Add(e, h, p.mine(do))
}

// finish passes to do, after the walk, this shard's entries the partition
// decides only then: the largest files, and hard-link groups some of whose
// names the walk did not see.
func (p *shardPlan) finish(do func(heldEntry) error) error {
	if p == nil {
		return nil
	}
	return p.part.Finish(p.mine(do))
}

func (p *shardPlan) mine(do func(heldEntry) error) func(int, heldEntry) error {
	return func(s int, h heldEntry) error {
		if s != p.s.Index {
			return nil
		}
		return do(h)
	}
}

// planShard plans e when this agent is to handle it; see shardPlan.
func (j *jobRun) planShard(ctx context.Context, e walk.Entry, rec manifest.Record, known bool, tasks chan<- task) error {
	if j.shards == nil || e.Mode.IsDir() {
		if j.shards != nil {
			j.shards.tree.Add(1)
		}
		return j.planEntry(ctx, e, rec, known, tasks)
	}
	j.shards.tree.Add(1)
	return j.shards.admit(heldEntry{e: e, rec: rec, known: known}, j.planHeld(ctx, tasks))
}

// planShardRest plans, after the walk, this shard's entries that the
// partition decides only then.
func (j *jobRun) planShardRest(ctx context.Context, tasks chan<- task) error {
	return j.shards.finish(j.planHeld(ctx, tasks))
}

func (j *jobRun) planHeld(ctx context.Context, tasks chan<- task) func(heldEntry) error {
	return func(h heldEntry) error { return j.planEntry(ctx, h.e, h.rec, h.known, tasks) }
}

// treeWalked is the number of entries the last walk saw in the whole tree,
// including other shards' entries.
func (j *jobRun) treeWalked() int64 {
	if j.shards == nil {
		return j.walked.Load()
	}
	return j.shards.tree.Load()
}

// dirMeta is what mkdir gives a directory: all of it from its own shard, and
// from the other shards, which create it only because their files need it,
// the mode it must be created with but no owner, which they leave to the
// directory's shard.
func (j *jobRun) dirMeta(t task) transfer.Meta {
	m := j.meta(t)
	if !j.shards.owns(t.e.Rel) {
		m.UID, m.GID = -1, -1
	}
	return m
}
