// Package shard splits one source tree among the agents of a sharded
// migration, so that each of N agents, started by a scheduler with nothing
// but its index, decides alone and identically to the others which files
// are its own. There is no coordinator: every agent walks the whole tree and
// applies the same pure functions to what it sees (Partition).
//
// # Files: the largest by a plan, the rest by a path hash
//
// Every item (a file, or all names of a hard-linked inode) that is not
// among the Keep(N) largest of the tree belongs to shard Of(key, n) of
// its path, the moment the walk shows it is not:
//
//	h     = BLAKE3-256(rel)                  // rel: the path relative to the job's source, '/'-separated, no leading "./"
//	x     = h[0] | h[1]<<8 | ... | h[7]<<56  // the first 8 bytes as a little-endian uint64
//	shard = (x * n) >> 64                    // the high word of the 128-bit product, in 0..n-1
//
// BLAKE3 is specified byte for byte and the rest is integer arithmetic, so
// the result is the same on every architecture and in every version of
// efssync; `printf %s "$rel" | b3sum` reproduces h. The multiply-shift maps
// the uniform 64-bit x onto 0..n-1 without the bias of a modulo that is not
// a power of two.
//
// A hash balances counts but not bytes: a few large files land where their
// hash says. So the Keep(N) largest items (by size, then path) are held
// until the walk ends and then planned, largest first, onto the shares the
// hash left (see balancer.finish). Which items are the largest, and what
// the hash left, depend only on the tree, never on the walk's order, so
// every agent that saw the same tree computes the same plan.
//
// A file whose size changes between two agents' walks can change the plan
// those two compute. Files outside the largest never move: their shard is
// their hash. A planned file may then be handled by two shards in that run
// (each publishes a complete, source-confirmed copy atomically; an
// unchanged one is recorded by the one and adopted, not copied, by the
// other) or by none (the next run over a quiet tree copies it).
//
// # Hard links
//
// All names of a hard-linked inode form one item keyed by the smallest of
// those names (byte order) that the walk sees, so exactly one agent copies
// the content once and links the other names. Every agent lstats every
// entry anyway, so each can compute this alone: see Links.
//
// # Paths gone from the source, and directories
//
// A path that no longer exists has no size: a mirror delete removes it in
// the shard of its hash, Owns. Every shard lists every directory and
// creates, idempotently, those its files need; a directory's owner is set
// only by the shard of its path's hash.
package shard

import (
	"encoding/binary"
	"math/bits"

	"github.com/zeebo/blake3"

	"github.com/efssync/efssync/config"
)

// Of returns the shard, from 0 to count-1, that owns the relative path rel
// among count shards. A count below 2 owns everything in shard 0.
func Of(rel string, count int) int {
	if count <= 1 {
		return 0
	}
	h := blake3.Sum256([]byte(rel))
	hi, _ := bits.Mul64(binary.LittleEndian.Uint64(h[:8]), uint64(count))
	return int(hi)
}

// Owns reports whether shard s owns rel by its hash: the rule for paths
// that have no size to plan by (what a mirror delete removes, directories'
// owners). Files of the source are placed by a Partition. An unsharded
// agent owns every path.
func Owns(s config.Shard, rel string) bool {
	return !s.Sharded() || Of(rel, s.Count) == s.Index
}
