// Package shard splits one source tree among the agents of a sharded
// migration, so that each of N agents, started by a scheduler with nothing
// but its index, decides alone and identically to the others which files
// are its own. There is no coordinator: every agent walks the whole tree and
// applies the same pure functions to what it sees.
//
// # The partition (stable: changing it moves files between shards)
//
// A path belongs to shard Of(rel, n):
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
// # Hard links
//
// All names of a hard-linked inode belong to the shard of the smallest of
// those names (byte order) that the walk sees, so exactly one agent copies
// the content once and links the other names. Every agent lstats every
// entry anyway, so each can compute this alone: see Links.
//
// # Directories
//
// Every shard lists every directory (it must, to find its files) and creates
// a directory at a destination idempotently when one of its files needs it.
// A directory's own metadata (mode, owner, mtime) is set only by the
// directory's shard, Of(dirRel, n), after that shard's files in it are
// published. Other shards creating files in it later move its mtime again;
// a later run of the directory's shard sets it back, so the mtime is final
// once every shard has run over an unchanged tree.
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

// Owns reports whether shard s owns rel: the filter a sharded walk applies
// to every file that is not hard-linked, and a sharded mirror delete to
// every path it would remove. An unsharded agent owns every path.
func Owns(s config.Shard, rel string) bool {
	return !s.Sharded() || Of(rel, s.Count) == s.Index
}
