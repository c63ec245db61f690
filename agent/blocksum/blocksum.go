// Package blocksum fingerprints a stream block by block, so that a file
// can later be checked against the bytes that were sent from it without
// hashing it whole on one core.
//
// Watch mode needs that check at the worst moment: after the writer closed
// a large file, before the copy may be published (a muxer that patched its
// header at close must not see its old header published). A whole-file
// BLAKE3 re-read costs about half a second per GiB on one core, all of it
// after the close. Fingerprints of fixed-size blocks, taken while the bytes were
// sent, turn that into a parallel comparison that stops at the first
// block that differs. The fingerprint is XXH3-128: not cryptographic, but
// the writer whose rewrite it must notice is a program, not an adversary,
// and it runs at memory speed. The file's BLAKE3 stays the sender's.
package blocksum

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/zeebo/xxh3"
)

// BlockSize is the span of one fingerprint: a block is one read into a
// buffer that stays in the core's cache while it is hashed (twice as fast
// as 1 MiB blocks here), and 16 bytes of fingerprint per 256 KiB sent
// (64 KiB per GiB) is little to keep.
const BlockSize = 256 << 10

// ErrDiffers is wrapped by Compare when the file does not hold the bytes
// that were fingerprinted.
var ErrDiffers = errors.New("differs from the bytes sent")

// Sums fingerprints a stream as it is written: one XXH3-128 per BlockSize
// bytes, the last block possibly shorter. The zero value is ready to use.
// It is not safe for concurrent use.
type Sums struct {
	blocks []xxh3.Uint128
	h      *xxh3.Hasher
	inBlk  int // bytes of the current block written to h
	n      int64
}

// Write adds p to the stream; it never fails.
func (s *Sums) Write(p []byte) (int, error) {
	k := len(p)
	for len(p) > 0 {
		if s.inBlk == 0 && len(p) >= BlockSize {
			// A whole block in one piece: the one-shot hash is the same
			// value without the streaming state.
			s.blocks = append(s.blocks, xxh3.Hash128(p[:BlockSize]))
			p = p[BlockSize:]
			s.n += BlockSize
			continue
		}
		if s.h == nil {
			s.h = xxh3.New()
		}
		take := min(len(p), BlockSize-s.inBlk)
		_, _ = s.h.Write(p[:take])
		s.inBlk += take
		s.n += int64(take)
		p = p[take:]
		if s.inBlk == BlockSize {
			s.blocks = append(s.blocks, s.h.Sum128())
			s.h.Reset()
			s.inBlk = 0
		}
	}
	return k, nil
}

// Size is how many bytes were written.
func (s *Sums) Size() int64 { return s.n }

// sums returns every block's fingerprint, the short last block included.
func (s *Sums) sums() []xxh3.Uint128 {
	if s.inBlk == 0 {
		return s.blocks
	}
	return append(s.blocks[:len(s.blocks):len(s.blocks)], s.h.Sum128())
}

// Compare reads the first Size bytes of r again, block by block on up to
// GOMAXPROCS goroutines, and returns nil when every block has the
// fingerprint it had when written. A block that differs, or a file that
// ends early, gives an error wrapping ErrDiffers that names the block's
// offset; the readers stop at the first one. A read error is returned as
// it is (wrapped with the offset). Compare does not look past Size: the
// caller checks that the file did not grow.
func (s *Sums) Compare(ctx context.Context, r io.ReaderAt) error {
	want := s.sums()
	workers := min(runtime.GOMAXPROCS(0), len(want))
	c := compare{r: r, want: want, size: s.n, first: -1}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { c.run(ctx) })
	}
	wg.Wait()
	if c.err != nil {
		return c.err
	}
	return ctx.Err()
}

// compare is one Compare: its workers take the next block from a shared
// counter, and the first failure stops them all.
type compare struct {
	r    io.ReaderAt
	want []xxh3.Uint128
	size int64
	next atomic.Int64
	stop atomic.Bool

	mu    sync.Mutex
	first int64 // offset of the failure kept in err; -1 for none
	err   error
}

func (c *compare) run(ctx context.Context) {
	buf := make([]byte, BlockSize)
	for !c.stop.Load() && ctx.Err() == nil {
		i := c.next.Add(1) - 1
		if i >= int64(len(c.want)) {
			return
		}
		if err := c.block(i, buf); err != nil {
			c.fail(i*BlockSize, err)
			return
		}
	}
}

// block checks block i.
func (c *compare) block(i int64, buf []byte) error {
	off := i * BlockSize
	p := buf[:min(BlockSize, c.size-off)]
	n, err := c.r.ReadAt(p, off)
	switch {
	case n < len(p) && (err == nil || errors.Is(err, io.EOF)):
		return fmt.Errorf("block at %d: file ends at %d: %w", off, off+int64(n), ErrDiffers)
	case n < len(p):
		return fmt.Errorf("read block at %d: %w", off, err)
	case xxh3.Hash128(p) != c.want[i]:
		return fmt.Errorf("block at %d: %w", off, ErrDiffers)
	}
	return nil
}

// fail records err unless a failure at a lower offset is already kept, so
// that with one worker the error is always the first differing block.
func (c *compare) fail(off int64, err error) {
	c.stop.Store(true)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.first < 0 || off < c.first {
		c.first, c.err = off, err
	}
}
