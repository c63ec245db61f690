package s3src

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/efssync/efssync/transfer"
)

// ErrChanged means the object is no longer the one listed (its ETag, size
// or version differ): nothing read from it may be published. Plan it again
// from a fresh listing.
var ErrChanged = errors.New("object changed since it was listed")

// Checkpoint is what to persist to resume a large object: the bytes
// [0, Done) are durable at the destination. It is valid only for the same
// object version: Open starts over when ETag, size or version differ.
type Checkpoint struct {
	Key       string `json:"key"`
	VersionID string `json:"version_id,omitempty"`
	ETag      string `json:"etag"`
	Size      int64  `json:"size"`
	Done      int64  `json:"done"`
}

// Chunk is a run of the object's bytes at Off. Data is valid until Release,
// which hands its buffer back for the next range.
type Chunk struct {
	Off     int64
	Data    []byte
	release func()
}

// Release returns the chunk's buffer. Call it once the bytes are written.
func (c Chunk) Release() {
	if c.release != nil {
		c.release()
	}
}

// Reader delivers one object's bytes in order, as chunks of at most
// PartSize, fetched ahead by up to PartConcurrency parallel ranged GETs.
// Every GET is pinned to the listed ETag (If-Match) and version, so a
// changed object fails with ErrChanged instead of mixing two versions. It
// holds at most PartConcurrency part buffers, counting chunks not yet
// released: release a chunk before asking for the PartConcurrency-th next.
type Reader struct {
	s     *Source
	obj   Object
	meta  Meta
	start int64

	ctx    context.Context
	cancel context.CancelFunc
	order  chan chan part // ranges in offset order
	sem    chan struct{}
	wg     sync.WaitGroup
	sum    *fullChecksum
	next   int64
	err    error
}

// part is one fetched range.
type part struct {
	off  int64
	data []byte
	err  error
}

// Open starts reading obj. A small object (at most PartSize, read from 0)
// is one GET. A larger one is fetched as ranges; the first GET is made
// before Open returns, so Meta is known and a missing, changed or archived
// object fails here. With resume for the same object version, reading
// starts at resume.Done (see Start); otherwise at 0.
//
// An object in an archive storage class that is not restored fails with an
// *ArchivedError. ctx bounds the whole read, including ranges fetched ahead.
func (s *Source) Open(ctx context.Context, obj Object, resume *Checkpoint) (*Reader, error) {
	if obj.Err != nil {
		return nil, obj.Err
	}
	if Archived(obj.StorageClass) {
		if err := s.checkRestored(ctx, obj); err != nil {
			return nil, err
		}
	}
	start := int64(0)
	if resume != nil && resume.Key == obj.Key && resume.ETag == obj.ETag && resume.Size == obj.Size &&
		resume.VersionID == obj.VersionID && resume.Done > 0 && resume.Done < obj.Size {
		start = resume.Done
	}
	rctx, cancel := context.WithCancel(ctx)
	r := &Reader{s: s, obj: obj, start: start, next: start, ctx: rctx, cancel: cancel,
		order: make(chan chan part, s.opts.PartConcurrency), sem: make(chan struct{}, s.opts.PartConcurrency)}
	n := min(s.opts.PartSize, obj.Size-start)
	whole := start == 0 && obj.Size <= s.opts.PartSize
	first, err := r.get(rctx, start, n, whole)
	if err != nil {
		cancel()
		return nil, err
	}
	r.meta, err = metaOf(obj.Key, first, obj.Size)
	if err != nil {
		first.Body.Close()
		cancel()
		return nil, err
	}
	if start == 0 {
		r.sum = newFullChecksum(first)
		if r.sum != nil {
			r.meta.Checksum = r.sum.name
		}
	}
	r.wg.Add(1)
	go r.dispatch(first)
	return r, nil
}

// Meta is what the first GET told about the object.
func (r *Reader) Meta() Meta { return r.meta }

// Start is the offset of the first chunk: 0, or where a resume continues.
// When it is 0 after a resume was asked for, the checkpoint did not match
// and the destination's partial copy must be discarded.
func (r *Reader) Start() int64 { return r.start }

// Checkpoint records that [0, done) is durable at the destination.
func (r *Reader) Checkpoint(done int64) Checkpoint {
	return Checkpoint{Key: r.obj.Key, VersionID: r.obj.VersionID, ETag: r.obj.ETag, Size: r.obj.Size, Done: done}
}

// Next returns the next chunk in offset order, or io.EOF after the last
// one, once the whole-object checksum (when S3 gave one) has matched. An
// error fails the Reader: every later call returns it.
func (r *Reader) Next(ctx context.Context) (Chunk, error) {
	if r.err != nil {
		return Chunk{}, r.err
	}
	var c chan part
	var ok bool
	select {
	case c, ok = <-r.order:
	case <-ctx.Done():
		return Chunk{}, ctx.Err()
	}
	if !ok {
		return Chunk{}, r.finish()
	}
	var p part
	select {
	case p = <-c:
	case <-ctx.Done():
		return Chunk{}, ctx.Err()
	}
	if p.err != nil {
		<-r.sem
		r.err = p.err
		return Chunk{}, p.err
	}
	if r.sum != nil {
		r.sum.write(p.data)
	}
	r.next = p.off + int64(len(p.data))
	return Chunk{Off: p.off, Data: p.data, release: func() { <-r.sem }}, nil
}

// finish ends a read that delivered every range.
func (r *Reader) finish() error {
	if r.err != nil {
		return r.err
	}
	if r.next != r.obj.Size {
		r.err = r.errorf("read stopped at %d of %d bytes", r.next, r.obj.Size)
		if r.ctx.Err() != nil {
			r.err = fmt.Errorf("%w: %w", r.err, r.ctx.Err())
		}
		return r.err
	}
	if r.sum != nil {
		if ok, got := r.sum.ok(); !ok {
			r.err = transfer.Retriable(r.errorf("%s of the bytes read is %s, S3 holds %s", r.sum.name, got, r.sum.want))
			return r.err
		}
	}
	r.err = io.EOF
	return io.EOF
}

// Close stops fetching ahead and waits for the ranges in flight.
func (r *Reader) Close() error {
	r.cancel()
	go func() {
		for c := range r.order {
			<-c
		}
	}()
	r.wg.Wait()
	return nil
}

func (r *Reader) errorf(format string, args ...any) error {
	return fmt.Errorf("s3://%s/%s: %s", r.s.bucket, r.obj.Key, fmt.Sprintf(format, args...))
}

// dispatch starts one fetch per range, in order, each after a buffer slot
// is free; first is the response to the first range, already under way.
func (r *Reader) dispatch(first *s3.GetObjectOutput) {
	defer r.wg.Done()
	defer close(r.order)
	ps := r.s.opts.PartSize
	for off := r.start; off < r.obj.Size; off += ps {
		select {
		case r.sem <- struct{}{}:
		case <-r.ctx.Done():
			if first != nil {
				first.Body.Close()
			}
			return
		}
		c := make(chan part, 1)
		resp := first
		first = nil
		n := min(ps, r.obj.Size-off)
		r.wg.Add(1)
		go func(off, n int64) {
			defer r.wg.Done()
			buf := make([]byte, n)
			err := r.fetch(off, buf, resp)
			c <- part{off: off, data: buf, err: err}
		}(off, n)
		r.order <- c // buffered: PartConcurrency slots, like sem
	}
}

// get requests n bytes at off, or the whole object.
func (r *Reader) get(ctx context.Context, off, n int64, whole bool) (*s3.GetObjectOutput, error) {
	in := &s3.GetObjectInput{Bucket: &r.s.bucket, Key: &r.obj.Key, ChecksumMode: types.ChecksumModeEnabled}
	if r.obj.ETag != "" {
		in.IfMatch = aws.String(`"` + r.obj.ETag + `"`)
	}
	if r.obj.VersionID != "" {
		in.VersionId = aws.String(r.obj.VersionID)
	}
	if !whole {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	}
	out, err := r.s.client.GetObject(ctx, in)
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "PreconditionFailed" {
			return nil, fmt.Errorf("s3://%s/%s: get: %w (ETag is no longer %s)", r.s.bucket, r.obj.Key, ErrChanged, r.obj.ETag)
		}
		return nil, r.s.wrap(r.obj.Key, fmt.Sprintf("get bytes %d-%d", off, off+n-1), err)
	}
	if err := r.checkResponse(out, off, n, whole); err != nil {
		out.Body.Close()
		return nil, err
	}
	return out, nil
}

// checkResponse confirms a response is the listed object's requested range.
func (r *Reader) checkResponse(out *s3.GetObjectOutput, off, n int64, whole bool) error {
	etag := trimQuotes(aws.ToString(out.ETag))
	if r.obj.ETag != "" && etag != r.obj.ETag {
		return fmt.Errorf("s3://%s/%s: %w (ETag %s, listed %s)", r.s.bucket, r.obj.Key, ErrChanged, etag, r.obj.ETag)
	}
	if aws.ToInt64(out.ContentLength) != n {
		return fmt.Errorf("s3://%s/%s: %w (%d bytes at %d, expected %d)", r.s.bucket, r.obj.Key, ErrChanged, aws.ToInt64(out.ContentLength), off, n)
	}
	if !whole {
		want := fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, r.obj.Size)
		if got := aws.ToString(out.ContentRange); got != want {
			return fmt.Errorf("s3://%s/%s: %w (Content-Range %q, expected %q)", r.s.bucket, r.obj.Key, ErrChanged, got, want)
		}
	}
	return nil
}
