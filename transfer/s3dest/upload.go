package s3dest

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/efssync/efssync/transfer"
)

// Upload is one file on its way into S3.
//
// Write buffers until a part is full and then sends it in the background,
// with at most the parts partPlan allows in flight; Write blocks while that
// many are. Checkpoint is safe to call from any goroutine and lists the parts
// the server has acknowledged so far: the agent calls it after each Write
// and persists it whenever its Parts grew, so that after a crash Begin can
// continue the upload without sending those parts again. Flush waits for
// the parts in flight, for a last checkpoint on shutdown.
//
// A failed Write, Flush or Commit (other than Commit's size check) fails
// the Upload: every later call returns the same error. Abort it, or drop it
// and call Begin again with its last Checkpoint to continue.
type Upload struct {
	d        *Dest
	key      string
	begin    transfer.Meta
	partSize int64

	ctx    context.Context // for background parts; cancelled by Abort
	cancel context.CancelFunc
	sem    chan struct{}
	wg     sync.WaitGroup

	// Owned by the caller's goroutine (Write, Commit, Abort).
	buf       *[]byte
	fromPool  bool
	pos       int64                   // next offset expected
	have      map[int32]transfer.Part // parts already on the server (resume)
	finished  bool                    // committed or aborted
	completed bool                    // CompleteMultipartUpload succeeded
	// After completion: the CRC32C S3 named and the one it should be.
	stored *string
	sent   string

	mu       sync.Mutex
	uploadID string
	parts    map[int32]transfer.Part
	err      error // first failure of a background part
}

func newUpload(ctx context.Context, d *Dest, key string, m transfer.Meta) *Upload {
	uctx, cancel := context.WithCancel(ctx)
	size, inFlight := partPlan(d.opts.PartSize, d.opts.PartConcurrency, m.Size)
	return &Upload{
		d:        d,
		key:      key,
		begin:    m,
		partSize: size,
		ctx:      uctx,
		cancel:   cancel,
		sem:      make(chan struct{}, inFlight),
		parts:    map[int32]transfer.Part{},
	}
}

// resume adopts cp's upload and the checkpointed parts the server confirms.
func (u *Upload) resume(ctx context.Context, cp *transfer.Checkpoint) error {
	server := map[int32]types.Part{}
	in := &s3.ListPartsInput{Bucket: &u.d.bucket, Key: &u.key, UploadId: aws.String(cp.UploadID)}
	for {
		out, err := u.d.client.ListParts(ctx, in)
		if isNoSuchUpload(err) {
			return nil // gone (completed, aborted or expired): start afresh
		}
		if err != nil {
			return u.d.wrap(u.key, "list parts", err)
		}
		for _, p := range out.Parts {
			server[aws.ToInt32(p.PartNumber)] = p
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		in.PartNumberMarker = out.NextPartNumberMarker
	}
	u.partSize = cp.PartSize
	u.uploadID = cp.UploadID
	u.have = map[int32]transfer.Part{}
	for _, p := range cp.Parts {
		sp, ok := server[p.Number]
		// Only whole parts can be skipped by offset; a short last part
		// is sent again with the rest of the file.
		if !ok || p.Size != cp.PartSize || aws.ToInt64(sp.Size) != p.Size ||
			strings.Trim(aws.ToString(sp.ETag), `"`) != strings.Trim(p.ETag, `"`) {
			continue
		}
		u.have[p.Number] = p
		u.parts[p.Number] = p
	}
	return nil
}

// Write takes the bytes at off. Bytes before the current end (a retried
// write) and bytes of parts the server already holds are discarded.
func (u *Upload) Write(ctx context.Context, off int64, p []byte) error {
	if u.finished {
		return fmt.Errorf("s3://%s/%s: write after commit or abort", u.d.bucket, u.key)
	}
	if err := u.failure(); err != nil {
		return err
	}
	if off > u.pos {
		return fmt.Errorf("s3://%s/%s: write at offset %d leaves a gap after %d", u.d.bucket, u.key, off, u.pos)
	}
	if drop := u.pos - off; drop > 0 {
		if drop >= int64(len(p)) {
			return nil
		}
		p = p[drop:]
	}
	for len(p) > 0 {
		num := int32(u.pos/u.partSize) + 1
		if num > maxParts {
			return fmt.Errorf("s3://%s/%s: file exceeds %d parts of %d bytes", u.d.bucket, u.key, maxParts, u.partSize)
		}
		n := min(int64(len(p)), u.partSize-u.pos%u.partSize)
		if _, ok := u.have[num]; ok {
			u.pos += n
			p = p[n:]
			continue
		}
		if u.buf == nil {
			u.newBuffer()
		}
		*u.buf = append(*u.buf, p[:n]...)
		u.pos += n
		p = p[n:]
		if int64(len(*u.buf)) == u.partSize {
			if err := u.flush(ctx, num); err != nil {
				// The bytes are accounted for but not sent: the upload
				// cannot go on, only be resumed from its checkpoint.
				u.fail(err)
				return err
			}
		}
	}
	return u.failure()
}

// newBuffer takes a part buffer. A file known to be smaller than a part gets
// one of its own size, so many small files in flight do not each pin a
// full part.
func (u *Upload) newBuffer() {
	if u.pos == 0 && u.begin.Size >= 0 && u.begin.Size < u.partSize && u.uploadID == "" {
		b := make([]byte, 0, u.begin.Size)
		u.buf, u.fromPool = &b, false
		return
	}
	u.buf, u.fromPool = u.d.pools.get(u.partSize), true
}

func (u *Upload) releaseBuffer(b *[]byte, fromPool bool) {
	if fromPool {
		u.d.pools.put(b)
	}
}

func (u *Upload) failure() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}

func (u *Upload) fail(err error) {
	u.mu.Lock()
	if u.err == nil {
		u.err = err
	}
	u.mu.Unlock()
}

var _ transfer.Upload = (*Upload)(nil)
