package shard

import (
	"fmt"
	"sync"
)

// Entry is what the partition needs to know of one walked entry that is
// not a directory.
type Entry struct {
	// Rel is the path relative to the job's source, '/'-separated.
	Rel string
	// Size is a regular file's size; 0 for anything else.
	Size int64
	// Dev, Ino and Nlink are a regular file's lstat results; Nlink 1 or
	// less (or any entry that is not a regular file) is a single name.
	Dev, Ino, Nlink uint64
}

// pendingName is one name of a hard-linked file waiting for its group.
type pendingName[T any] struct {
	v    T
	size int64
}

// Partition decides, while a walk streams a job's entries, which shard
// each entry belongs to, identically in every agent that walks the same
// tree. It is the one place the sharded run, verify and `efssync shards`
// take that decision from. See the package documentation for the rule.
//
// It holds, with the caller's value for each, only the names of
// hard-linked files until their group is complete and the Keep(count)
// largest items until the walk ends; every other entry is decided when it
// arrives. It is safe for the walk's concurrent checkers; emit is never
// called with the partition's lock held.
type Partition[T any] struct {
	count int

	mu      sync.Mutex
	links   *Links
	pending map[string]pendingName[T]
	bal     balancer[T]
	shares  []Share
}

// NewPartition returns the partition of one job's tree among count shards.
func NewPartition[T any](count int) *Partition[T] {
	return newPartition[T](count, Keep(count))
}

func newPartition[T any](count, keep int) *Partition[T] {
	count = max(count, 1)
	return &Partition[T]{count: count, links: NewLinks(count), pending: map[string]pendingName[T]{},
		bal: newBalancer[T](count, keep)}
}

// Add takes one walked entry with the caller's value v for it, and calls
// emit for every entry whose shard is now decided: none, e's, or those of
// an item that e displaced from the largest. Each path must be added at
// most once per walk.
func (p *Partition[T]) Add(e Entry, v T, emit func(shard int, v T) error) error {
	p.mu.Lock()
	h := held[T]{it: Item{Key: e.Rel, Size: e.Size, Files: 1}, one: v}
	if e.Nlink > 1 {
		p.pending[e.Rel] = pendingName[T]{v: v, size: e.Size}
		g, done := p.links.Add(e.Dev, e.Ino, e.Nlink, e.Rel)
		if !done {
			p.mu.Unlock()
			return nil
		}
		h = p.groupLocked(g)
	}
	out, s, ok := p.bal.add(h)
	p.mu.Unlock()
	if !ok {
		return nil
	}
	return out.each(func(v T) error { return emit(s, v) })
}

// groupLocked turns a complete hard-link group into one item carrying its
// names' values in name order, the smallest name's first: that shard
// copies the first name and links the others to it.
func (p *Partition[T]) groupLocked(g Group) held[T] {
	h := held[T]{it: Item{Key: g.Names[0], Size: p.pending[g.Names[0]].size, Files: int64(len(g.Names))}}
	h.group = make([]T, len(g.Names))
	for i, n := range g.Names {
		h.group[i] = p.pending[n].v
		delete(p.pending, n)
	}
	return h
}

// Finish ends the walk: it completes the hard-link groups some of whose
// names the walk did not see (outside the source, excluded, or unlinked
// meanwhile; each is final over the names seen), plans the largest items,
// and calls emit for every entry not decided yet, largest first. After
// Finish, Shares tells what each shard owns.
func (p *Partition[T]) Finish(emit func(shard int, v T) error) error {
	p.mu.Lock()
	if p.shares != nil {
		p.mu.Unlock()
		return fmt.Errorf("shard partition: Finish called twice")
	}
	var now []placed[T]
	for _, g := range p.links.Rest() {
		if h, s, ok := p.bal.add(p.groupLocked(g)); ok {
			now = append(now, placed[T]{h: h, shard: s})
		}
	}
	planned, shares := p.bal.finish()
	p.shares = shares
	p.mu.Unlock()
	for _, x := range append(now, planned...) {
		if err := x.h.each(func(v T) error { return emit(x.shard, v) }); err != nil {
			return err
		}
	}
	return nil
}

// Shares returns what each shard owns of the whole tree: nil before Finish.
func (p *Partition[T]) Shares() []Share {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.shares
}
