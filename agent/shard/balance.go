package shard

import (
	"cmp"
	"container/heap"
	"slices"
	"strings"
)

// Item is one unit the partition places whole: a file, or every name of a
// hard-linked inode, whose bytes are copied once.
type Item struct {
	// Key is the path; a hard-link group's smallest name.
	Key string
	// Size is the bytes the owning shard copies.
	Size int64
	// Files is the number of names the item brings.
	Files int64
}

// Share is what one shard owns.
type Share struct {
	// Files counts names: regular files, symlinks, every name of a hard link.
	Files int64 `json:"files"`
	// Bytes counts the content of regular files, a hard-linked inode once.
	Bytes int64 `json:"bytes"`
}

func (s *Share) add(it Item) {
	s.Files += it.Files
	s.Bytes += it.Size
}

// order sorts items largest first: by size, then by key, so that every
// shard agrees on the K largest items of a tree whatever order its walk
// found them in.
func order(a, b Item) int {
	if c := cmp.Compare(b.Size, a.Size); c != 0 {
		return c
	}
	return strings.Compare(a.Key, b.Key)
}

// larger reports whether a comes before b in order.
func larger(a, b Item) bool { return order(a, b) < 0 }

// Keep is how many of a tree's largest items the partition plans instead
// of hashing them, for count shards: enough that the items left to the
// hash are small beside a shard's share (their imbalance is then small)
// and that the planned ones can even out what imbalance remains, yet
// bounded, because each agent holds these items, and their entries (about
// 600 bytes each with the manifest record), in memory until its walk
// ends: 65,536 up to 4 shards, 16,384 per shard above, at most 262,144
// (from 16 shards). One shard plans nothing.
func Keep(count int) int {
	if count <= 1 {
		return 0
	}
	return min(max(16384*count, 1<<16), 1<<18)
}

// held is an item waiting, with the caller's values for its names (one
// for a file; in name order for a hard-link group), until the walk ends
// or a larger item displaces it from the K largest.
type held[T any] struct {
	it    Item
	one   T
	group []T
}

func (h held[T]) each(f func(T) error) error {
	if h.group == nil {
		return f(h.one)
	}
	for _, v := range h.group {
		if err := f(v); err != nil {
			return err
		}
	}
	return nil
}

// smallest is a heap of held items with the smallest (by larger) on top.
type smallest[T any] []held[T]

func (h smallest[T]) Len() int           { return len(h) }
func (h smallest[T]) Less(i, j int) bool { return larger(h[j].it, h[i].it) }
func (h smallest[T]) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *smallest[T]) Push(x any)        { *h = append(*h, x.(held[T])) }
func (h *smallest[T]) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// balancer keeps the K largest items of a walk and places every other
// item by the hash of its key the moment it is known not to be among them.
// Which items end up among the K largest, and hence which are hashed, does
// not depend on the order in which they arrive.
type balancer[T any] struct {
	count, keep int
	hashed      []Share
	top         smallest[T]
}

func newBalancer[T any](count, keep int) balancer[T] {
	return balancer[T]{count: count, keep: keep, hashed: make([]Share, count)}
}

// add offers h. When an item is placed now, by its hash, add returns it
// and its shard: h itself when it is not among the K largest seen so far,
// or the item h displaced from them.
func (b *balancer[T]) add(h held[T]) (held[T], int, bool) {
	switch {
	case len(b.top) < b.keep:
		heap.Push(&b.top, h)
		return held[T]{}, 0, false
	case len(b.top) > 0 && larger(h.it, b.top[0].it):
		out := b.top[0]
		b.top[0] = h
		heap.Fix(&b.top, 0)
		h = out
	}
	s := Of(h.it.Key, b.count)
	b.hashed[s].add(h.it)
	return h, s, true
}

// placed is a planned item and its shard.
type placed[T any] struct {
	h     held[T]
	shard int
}

// finish plans the K largest items, largest first, onto the shares the
// hashed items left, and returns them in that order with every shard's
// final share. It empties the balancer.
//
// The plan is greedy, in the spirit of fpart, which fills partitions up to
// a size and a file count: largest first, each item goes to the shard
// with the fewest bytes among those it leaves within 1% above the mean
// file count. The large items, first, even out the bytes the hash left
// uneven; the small ones that follow then fill the shards that lack files
// once the others reached the cap, moving few bytes. Every shard ends at
// most 1% above the mean count, hence at most (N-1)% below it. It is
// integer arithmetic only, so agents on different architectures agree.
func (b *balancer[T]) finish() ([]placed[T], []Share) {
	items := []held[T](b.top)
	b.top = nil
	slices.SortFunc(items, func(x, y held[T]) int { return order(x.it, y.it) })
	shares := slices.Clone(b.hashed)
	var total Share
	for _, s := range shares {
		total.Files += s.Files
		total.Bytes += s.Bytes
	}
	for _, h := range items {
		total.add(h.it)
	}
	n := int64(len(shares))
	capFiles := (total.Files*(100+slackPercent) + 100*n - 1) / (100 * n)
	out := make([]placed[T], len(items))
	for i, h := range items {
		s := pick(shares, h.it, capFiles)
		shares[s].add(h.it)
		out[i] = placed[T]{h: h, shard: s}
	}
	return out, shares
}

// pick is the shard with the fewest bytes among those that stay within
// capFiles with it; the one with the fewest files when none does.
func pick(shares []Share, it Item, capFiles int64) int {
	best, fits := 0, false
	for s, sh := range shares {
		f := sh.Files+it.Files <= capFiles
		b := shares[best]
		switch {
		case f && !fits:
			best, fits = s, true
		case f && (sh.Bytes < b.Bytes || sh.Bytes == b.Bytes && sh.Files < b.Files):
			best = s
		case !f && !fits && sh.Files < b.Files:
			best = s
		}
	}
	return best
}

// slackPercent is how far above the mean file count the plan lets a shard
// go to even out bytes.
const slackPercent = 1
