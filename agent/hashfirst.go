package agent

import (
	"context"
	"fmt"
	"io"

	"github.com/efssync/efssync/agent/send"
	"github.com/efssync/efssync/transfer"
)

// wantsHashFirst reports whether any of dests fixes the object's metadata
// before the bytes arrive (a multipart upload to S3), so a finished file's
// BLAKE3 must be known at Begin for the object to carry it.
func (j *jobRun) wantsHashFirst(dests []int, m transfer.Meta) bool {
	for _, i := range dests {
		if hf := j.dests[i].hashFirst; hf != nil && hf.HashFirst(m) {
			return true
		}
	}
	return false
}

// hashFirst returns the BLAKE3 of the size bytes src holds, read at their
// offsets so the sender still reads the file from the start. The sender
// hashes the bytes it sends as well, and the destination refuses to
// publish when the two differ (the file changed in between), so a hash
// taken here never describes other bytes than those published.
func hashFirst(ctx context.Context, src io.ReaderAt, size int64, abs string) ([]byte, error) {
	sum, err := send.HashAll(ctxReader{ctx, io.NewSectionReader(src, 0, size)})
	if err != nil {
		return nil, fmt.Errorf("read %s to hash it before its upload: %w", abs, err)
	}
	return sum[:], nil
}

// ctxReader ends a long read once ctx is done, so a shutdown does not wait
// for a large file to be hashed.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
