package agent

import (
	"context"
	"fmt"

	"github.com/zeebo/blake3"
	"golang.org/x/sys/unix"

	"github.com/efssync/efssync/transfer"
)

// hashFirstBuf is the read size of hashFirst: large reads, as the files it
// reads are at least one S3 part long.
const hashFirstBuf = 1 << 20

// wantsHashFirst reports whether any of dests fixes the object's metadata
// before the bytes arrive (a multipart upload to S3), so a finished file's
// BLAKE3 must be known at Begin for the object to carry it.
func (j *jobRun) wantsHashFirst(dests []int, m transfer.Meta) bool {
	for _, i := range dests {
		if hf, ok := transfer.As[transfer.HashFirster](j.dests[i].d); ok && hf.HashFirst(m) {
			return true
		}
	}
	return false
}

// hashFirst returns the BLAKE3 of the open file fd, read with pread so the
// sender still reads it from the start. The sender hashes the bytes it
// sends as well, and the destination refuses to publish when the two
// differ (the file changed in between), so a hash taken here never
// describes other bytes than those published.
func hashFirst(ctx context.Context, fd int, abs string) ([]byte, error) {
	h := blake3.New()
	buf := make([]byte, hashFirstBuf)
	var off int64
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := unix.Pread(fd, buf, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s to hash it before its upload: %w", abs, err)
		}
		if n <= 0 {
			return h.Sum(nil), nil
		}
		_, _ = h.Write(buf[:n])
		off += int64(n)
	}
}
