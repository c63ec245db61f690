package send

import (
	"context"

	"github.com/zeebo/blake3"
)

// ChunkSource is a Source that already holds its bytes in buffers of its
// own, such as the parts a restore fetched from S3 in parallel. With one
// destination the sender takes those buffers as they are instead of
// copying each into a pooled chunk, and writes a chunk while it hashes it
// (on two cores the hash and the write then cost the time of the slower
// one, not of both). Writes still reach the upload in order, one at a
// time, so its checkpoints keep meaning "every byte before this".
type ChunkSource interface {
	Source
	// NextChunk returns the next bytes in order, or io.EOF (with an empty
	// Chunk) after the last. The sender calls the chunk's Release once it
	// no longer reads Data, before it asks for the next chunk.
	NextChunk(ctx context.Context) (Chunk, error)
}

// Chunk is a run of a ChunkSource's bytes, valid until Release.
type Chunk struct {
	Data    []byte
	Release func()
}

// parallelChunk is the smallest chunk written while it is hashed: below
// it, starting a goroutine costs more than it saves (a small object's
// whole body is one chunk).
const parallelChunk = 256 << 10

// readChunks is readSerial for a ChunkSource: each chunk is hashed here
// and, when large, written by a goroutine at the same time, then given
// back.
func (s *Sender) readChunks(ctx context.Context, src ChunkSource, h *blake3.Hasher, u *upload) (int64, error) {
	var off int64
	done := make(chan struct{})
	for {
		c, err := src.NextChunk(ctx)
		if k := len(c.Data); k > 0 {
			hashAndWrite(ctx, h, u, off, c.Data, done)
			off += int64(k)
			s.opts.Read.Add(int64(k))
		}
		if c.Release != nil {
			c.Release()
		}
		if err != nil {
			return off, endOf(ctx, err)
		}
	}
}

// hashAndWrite feeds p to h and writes it at off, both at once when p is
// large enough to pay for a goroutine; done is its completion signal.
func hashAndWrite(ctx context.Context, h *blake3.Hasher, u *upload, off int64, p []byte, done chan struct{}) {
	if len(p) < parallelChunk {
		_, _ = h.Write(p)
		u.write(ctx, off, p)
		return
	}
	go func() {
		u.write(ctx, off, p)
		done <- struct{}{}
	}()
	_, _ = h.Write(p)
	<-done
}
