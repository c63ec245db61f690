package send

import (
	"context"

	"github.com/zeebo/blake3"
)

// ChunkSource is a Source that already holds its bytes in buffers of its
// own, such as the parts a restore fetched from S3 in parallel. With one
// destination the sender takes those buffers as they are instead of
// copying each into a pooled chunk, and hashes and writes each window of
// a chunk while it is in the CPU's cache. Writes reach the upload in
// order, so its checkpoints keep meaning "every byte before this".
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

// window is how much of a chunk is hashed before it is written: little
// enough to be still in the CPU's cache for the write, where hashing the
// whole chunk first would make the write read it from memory again.
const window = 256 << 10

// readChunks is readSerial for a ChunkSource: each chunk is hashed and
// written straight from the source's buffer, then given back.
func (s *Sender) readChunks(ctx context.Context, src ChunkSource, h *blake3.Hasher, u *upload) (int64, error) {
	var off int64
	for {
		c, err := src.NextChunk(ctx)
		if k := len(c.Data); k > 0 {
			hashAndWrite(ctx, h, u, off, c.Data)
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

// hashAndWrite feeds p to h and writes it at off, a window at a time.
func hashAndWrite(ctx context.Context, h *blake3.Hasher, u *upload, off int64, p []byte) {
	for len(p) > 0 {
		w := p[:min(window, len(p))]
		_, _ = h.Write(w)
		u.write(ctx, off, w)
		p, off = p[len(w):], off+int64(len(w))
	}
}
