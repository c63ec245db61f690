package agent

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/efssync/efssync/agent/walk"

	"github.com/efssync/efssync/agent/shard"
	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/manifest"
	"github.com/efssync/efssync/transfer"
)

// shardPlan is the filter a sharded job puts in front of the plan step, so
// that this agent handles only its own part of the tree while it walks all
// of it (docs/scale-out.md). Directories go through to every shard: each
// creates the ones its files need, idempotently, with the same mode. Other
// entries go through when their path hashes to this shard, except the names
// of hard-linked files, which are held until every name of their inode was
// seen and then go through together when this shard owns the group (the
// shard of the smallest name). It is nil for an unsharded job.
type shardPlan struct {
	s     config.Shard
	links *shard.Links
	// tree counts every entry of the walk, this shard's or not: the whole
	// tree's size, for the mirror-delete guard.
	tree atomic.Int64

	mu sync.Mutex
	// held are the walked names of hard-linked files whose group is not
	// complete yet, with their manifest records.
	held map[string]heldEntry
}

// heldEntry is one name of a hard-linked file waiting for its group.
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
	return &shardPlan{s: s, links: shard.NewLinks(s.Count), held: map[string]heldEntry{}}
}

// owns reports whether this shard handles rel as a path of its own (mirror
// delete, verify): every path when the job is not sharded.
func (p *shardPlan) owns(rel string) bool {
	return p == nil || shard.Owns(p.s, rel)
}

// planShard plans e when this agent is to handle it; see shardPlan.
func (j *jobRun) planShard(ctx context.Context, e walk.Entry, rec manifest.Record, known bool, tasks chan<- task) error {
	p := j.shards
	if p == nil {
		return j.planEntry(ctx, e, rec, known, tasks)
	}
	p.tree.Add(1)
	switch {
	case e.Mode.IsDir():
		return j.planEntry(ctx, e, rec, known, tasks)
	case !e.Mode.IsRegular() || e.St.Nlink <= 1:
		if !p.owns(e.Rel) {
			return nil
		}
		return j.planEntry(ctx, e, rec, known, tasks)
	}
	p.mu.Lock()
	p.held[e.Rel] = heldEntry{e: e, rec: rec, known: known}
	p.mu.Unlock()
	g, done := p.links.Add(e.St.Dev, e.St.Ino, e.St.Nlink, e.Rel)
	if !done {
		return nil
	}
	return j.planGroup(ctx, g, tasks)
}

// planGroup plans every name of a complete hard-link group when this shard
// owns it, smallest name first: the planner copies the first name it sees of
// an inode and links the others to it. Other shards' groups are forgotten.
func (j *jobRun) planGroup(ctx context.Context, g shard.Group, tasks chan<- task) error {
	p := j.shards
	entries := make([]heldEntry, 0, len(g.Names))
	p.mu.Lock()
	for _, name := range g.Names {
		if h, ok := p.held[name]; ok {
			entries = append(entries, h)
			delete(p.held, name)
		}
	}
	p.mu.Unlock()
	if g.Owner != p.s.Index {
		return nil
	}
	for _, h := range entries {
		if err := j.planEntry(ctx, h.e, h.rec, h.known, tasks); err != nil {
			return err
		}
	}
	return nil
}

// planShardRest plans, after the walk, the hard-link groups some of whose
// names the walk did not see (outside the source, excluded, or unlinked
// meanwhile): each is final over the names seen.
func (j *jobRun) planShardRest(ctx context.Context, tasks chan<- task) error {
	if j.shards == nil {
		return nil
	}
	for _, g := range j.shards.links.Rest() {
		if err := j.planGroup(ctx, g, tasks); err != nil {
			return err
		}
	}
	return nil
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
