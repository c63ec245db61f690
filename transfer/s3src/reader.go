package s3src

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/efssync/efssync/transfer/s3client"
)

// ErrChanged means the object is no longer the one listed (its ETag, size
// or version differ): nothing read from it may be published. Plan it again
// from a fresh listing.
var ErrChanged = errors.New("object changed since it was listed")

// Checkpoint is what to persist to resume a large object: the bytes
// [0, Done) are durable at the destination. It is valid only for the same
// object version: Open starts over when key, ETag, size or version differ.
type Checkpoint struct {
	Key       string `json:"key"`
	VersionID string `json:"version_id,omitempty"`
	ETag      string `json:"etag"`
	Size      int64  `json:"size"`
	Done      int64  `json:"done"`
	// PartLen is the length of the object's multipart parts when it is
	// read part by part, so a resume starts at a part boundary.
	PartLen int64 `json:"part_len,omitempty"`
}

// Chunk is a run of the object's bytes at Off. Data is valid until Release,
// which frees its slot for the next range.
type Chunk struct {
	Off     int64
	Data    []byte
	release func()
}

// Release frees the chunk's slot. Call it once the bytes are written.
func (c Chunk) Release() {
	if c.release != nil {
		c.release()
	}
}

// Reader delivers one object's bytes in order, fetched ahead by parallel
// GETs: as many as its units fit in PartSize × PartConcurrency bytes, and
// at least PartConcurrency. Every GET is pinned to the listed ETag
// (If-Match) and version, so a changed object fails with ErrChanged
// instead of mixing two versions.
//
// A multipart object (its ETag ends in "-N") is read part by part (GET
// with partNumber): S3 returns each part's checksum with it, which is
// verified. Any other object larger than PartSize is read in ranges cut by
// s3client.Split (at most PartSize each), for which S3 returns no
// checksum; a small one is one GET, verified against its whole-object
// checksum. The BLAKE3 in Meta covers
// every case.
//
// It holds at most as many buffers as it has GETs in flight, counting
// chunks not yet released: release a chunk before asking for the
// PartConcurrency-th next.
// With MaxBuffered, all Readers of a Source together hold at most that
// many bytes.
type Reader struct {
	s     *Source
	obj   Object
	meta  Meta
	start int64
	parts int32 // multipart parts, 0 when read by ranges
	plen  int64 // multipart part length (of the first part read)
	rlen  int64 // range length of an object read by ranges

	ctx    context.Context
	cancel context.CancelFunc
	order  chan chan part // units in offset order
	sem    chan struct{}
	wg     sync.WaitGroup
	next   int64
	err    error
}

// unit is one GET's worth: part num of a multipart object, or n bytes at off.
type unit struct {
	num   int32
	off   int64
	n     int64
	whole bool // the whole object, no Range
}

// part is one fetched unit.
type part struct {
	off  int64
	data []byte
	err  error
	held int64   // MaxBuffered budget taken for it
	buf  *[]byte // pooled buffer behind data, given back on release
}

// multipartCount reads N from a multipart ETag "hex-N", or 0.
func multipartCount(etag string) int32 {
	_, n, ok := strings.Cut(etag, "-")
	if !ok {
		return 0
	}
	v, err := strconv.ParseInt(n, 10, 32)
	if err != nil || v < 1 {
		return 0
	}
	return int32(v)
}

// Open starts reading obj. The first GET is made before Open returns, so
// Meta is known and a missing, changed or archived object fails here. With
// resume for the same object version, reading starts at or before
// resume.Done (see Start); otherwise at 0.
//
// An object in an archive storage class that is not restored fails with an
// *ArchivedError. ctx bounds the whole read, including units fetched ahead.
func (s *Source) Open(ctx context.Context, obj Object, resume *Checkpoint) (*Reader, error) {
	if obj.Err != nil {
		return nil, obj.Err
	}
	if Archived(obj.StorageClass) {
		if err := s.CheckRestored(ctx, obj); err != nil {
			return nil, err
		}
	}
	rctx, cancel := context.WithCancel(ctx)
	r := &Reader{s: s, obj: obj, ctx: rctx, cancel: cancel}
	r.rlen, _ = s3client.Split(s.opts.PartSize, s.opts.PartConcurrency, obj.Size, minRange)
	first, resp, err := r.openFirst(resume)
	if err != nil {
		cancel()
		return nil, err
	}
	// As many GETs in flight as units fit in PartSize × PartConcurrency
	// bytes: an object archived in small parts is read on more connections.
	unitLen := r.rlen
	if r.parts > 0 {
		unitLen = r.plen
	}
	n := s3client.InFlight(s.opts.PartSize, s.opts.PartConcurrency, unitLen)
	r.order, r.sem = make(chan chan part, n), make(chan struct{}, n)
	r.wg.Add(1)
	go r.dispatch(first, resp)
	return r, nil
}

// openFirst makes the first GET and reads Meta, Start and the part length
// from its response.
func (r *Reader) openFirst(resume *Checkpoint) (unit, *response, error) {
	first := r.firstUnit(resume)
	resp, err := r.get(r.ctx, first)
	if err == nil && first.num > 1 && resp.off > resume.Done {
		// Parts of unequal length: the checkpoint's part is not where
		// Done is. Start over rather than leave a gap.
		resp.out.Body.Close()
		first = unit{num: 1}
		resp, err = r.get(r.ctx, first)
	}
	if err != nil {
		return first, nil, err
	}
	if r.meta, err = metaOf(r.obj.Key, resp.out, r.obj.Size); err != nil {
		resp.out.Body.Close()
		return first, nil, err
	}
	r.start, r.next = resp.off, resp.off
	switch {
	case r.parts > 0:
		r.plen = resp.n
		if first.num > 1 {
			r.plen = resume.PartLen // resp may be the short last part
		}
		r.meta.Checksum = checksumName(resp.out, " per part")
	case first.whole:
		r.meta.Checksum = checksumName(resp.out, "")
	}
	return first, resp, nil
}

// firstUnit picks how to read and where to start.
func (r *Reader) firstUnit(cp *Checkpoint) unit {
	o, ps := r.obj, r.s.opts.PartSize
	resumes := cp != nil && cp.Key == o.Key && cp.ETag == o.ETag && cp.Size == o.Size &&
		cp.VersionID == o.VersionID && cp.Done > 0 && cp.Done < o.Size
	if n := multipartCount(o.ETag); n > 0 && o.Size > ps {
		r.parts = n
		if resumes && cp.PartLen > 0 && cp.Done/cp.PartLen < int64(n) {
			return unit{num: int32(cp.Done/cp.PartLen) + 1}
		}
		return unit{num: 1}
	}
	if resumes {
		return unit{off: cp.Done, n: min(r.rlen, o.Size-cp.Done)}
	}
	if o.Size <= ps {
		return unit{n: o.Size, whole: true}
	}
	return unit{n: r.rlen}
}

// Meta is what the first GET told about the object.
func (r *Reader) Meta() Meta { return r.meta }

// Start is the offset of the first chunk: 0, or where a resume continues
// (at most the checkpoint's Done). When it is 0 after a resume was asked
// for, the checkpoint did not match and the partial copy must be discarded.
func (r *Reader) Start() int64 { return r.start }

// Checkpoint records that [0, done) is durable at the destination.
func (r *Reader) Checkpoint(done int64) Checkpoint {
	return Checkpoint{Key: r.obj.Key, VersionID: r.obj.VersionID, ETag: r.obj.ETag, Size: r.obj.Size, Done: done, PartLen: r.plen}
}

// Next returns the next chunk in offset order, or io.EOF after the last
// one. An error fails the Reader: every later call returns it.
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
	if p.err == nil && p.off != r.next {
		r.s.unreserve(p.held)
		r.s.putBuf(p.buf)
		p.err = fmt.Errorf("%w (a part starts at %d, expected %d)", ErrChanged, p.off, r.next)
	}
	if p.err != nil {
		<-r.sem
		r.err = p.err
		return Chunk{}, p.err
	}
	r.next = p.off + int64(len(p.data))
	return Chunk{Off: p.off, Data: p.data, release: func() {
		r.s.unreserve(p.held)
		r.s.putBuf(p.buf)
		<-r.sem
	}}, nil
}

// finish ends a read that delivered every unit.
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
	r.err = io.EOF
	return io.EOF
}

// Close stops fetching ahead and waits for the units in flight.
func (r *Reader) Close() error {
	r.cancel()
	go func() {
		for c := range r.order {
			if p := <-c; p.err == nil {
				r.s.unreserve(p.held)
				r.s.putBuf(p.buf)
			}
		}
	}()
	r.wg.Wait()
	return nil
}

func (r *Reader) errorf(format string, args ...any) error {
	return fmt.Errorf("s3://%s/%s: %s", r.s.bucket, r.obj.Key, fmt.Sprintf(format, args...))
}

// dispatch starts one fetch per unit, in order, each once a slot is free;
// resp is the response to the first unit, already under way.
func (r *Reader) dispatch(first unit, resp *response) {
	defer r.wg.Done()
	defer close(r.order)
	defer func() {
		if resp != nil {
			resp.out.Body.Close()
		}
	}()
	for u, ok := first, true; ok; u, ok = r.after(u) {
		select {
		case r.sem <- struct{}{}:
		case <-r.ctx.Done():
			return
		}
		// Budget is taken here, in offset order, so the unit the caller
		// waits for never waits for budget held by units after it.
		held := r.estimate(u, resp)
		if err := r.s.reserve(r.ctx, r.obj.Key, held); err != nil {
			c := make(chan part, 1) // Next frees its slot
			c <- part{err: err}
			r.order <- c
			return
		}
		c := make(chan part, 1)
		r.wg.Add(1)
		go func(u unit, resp *response) {
			defer r.wg.Done()
			p := r.fetch(u, resp)
			p.held = held
			if p.err != nil {
				r.s.unreserve(held)
			}
			c <- p
		}(u, resp)
		resp = nil
		r.order <- c // never blocks: a unit in order holds a slot
	}
}

// estimate is the most bytes unit u can carry: its range, the response
// already received, or the object's part length (no part is longer than
// the first, except that part itself).
func (r *Reader) estimate(u unit, resp *response) int64 {
	switch {
	case resp != nil:
		return resp.n
	case u.num > 0:
		return r.plen
	}
	return u.n
}

// after returns the unit following u.
func (r *Reader) after(u unit) (unit, bool) {
	if r.parts > 0 {
		return unit{num: u.num + 1}, u.num < r.parts
	}
	off := u.off + u.n
	if u.whole || off >= r.obj.Size {
		return unit{}, false
	}
	return unit{off: off, n: min(r.rlen, r.obj.Size-off)}, true
}
