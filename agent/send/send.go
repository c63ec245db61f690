// Package send moves one file's bytes from a source reader to every
// destination that needs them. It is the only code in efssync that does: once
// mode hands it an open file, watch mode a follower of a growing file, and a
// restore will hand it an S3 object reader. Whatever the source, the sender
// reads each chunk once from a pooled buffer, feeds BLAKE3 and every
// destination's upload, confirms what was read against the source as it
// stands, commits, verifies, copies extended attributes, checkpoints and
// resumes, and returns one outcome per destination.
//
// Slow destinations: with one destination the reader writes each chunk
// itself. With several, each destination has its own writer goroutine and a
// queue of Options.Queue chunks; the reader blocks only when a destination's
// queue is full. A slow destination therefore never holds a fast one back by
// more than Queue chunks, and a fast one publishes as soon as its own queue
// is drained.
package send

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/zeebo/blake3"

	"github.com/efssync/efssync/transfer"
)

// ErrChanged marks a source that changed while it was sent: nothing is
// published, and the caller decides whether to send it again.
var ErrChanged = errors.New("source changed while it was copied")

// Source is where one file's bytes come from.
type Source interface {
	// Read fills p with the next bytes and returns io.EOF once the version
	// being sent is complete. A source may block until bytes arrive.
	Read(ctx context.Context, p []byte) (int, error)
	// Confirm runs after io.EOF with the count and BLAKE3 of every byte
	// read. It returns nil when the source as it stands now holds exactly
	// those bytes, and an error wrapping ErrChanged when it does not: the
	// sender publishes nothing then.
	Confirm(ctx context.Context, n int64, sum [32]byte) error
	// Identity names the source's version, stored with each upload
	// checkpoint so that only the same source resumes it.
	Identity() Identity
}

// XattrSource is a Source that carries extended attributes; with
// Options.Xattrs they are read after Confirm and published with the file.
type XattrSource interface {
	Xattrs() map[string][]byte
}

// Dest is one destination the sender writes to.
type Dest struct {
	Name string
	D    transfer.Destination
}

// Verify says how a published file is checked.
type Verify int

// The verify levels of a job's `verify` setting.
const (
	VerifyNone        Verify = iota
	VerifyTransferred        // stat (size, mtime, stored hash); free where the destination is a CommitVerifier
	VerifyAll                // also re-read and hash the content
)

// Options are a job's settings for sending.
type Options struct {
	// Pool gives chunk buffers; Small gives buffers for files below
	// SmallFile bytes, so many small files in flight do not pin big buffers.
	Pool, Small *transfer.BufferPool
	SmallFile   int64
	// Queue is how many chunks each destination may lag behind the reader
	// when there are several; default 4.
	Queue  int
	Verify Verify
	Xattrs bool
	// Checkpoints stores resumable upload state; nil keeps none (dry run).
	Checkpoints Checkpoints
	// MinResumable is the smallest file for which a checkpoint is looked up.
	MinResumable int64
	// Read, when non-nil, counts source bytes read (the progress rate).
	Read *atomic.Int64
}

// File is one file to send.
type File struct {
	Rel string
	// Meta is the metadata known at the start; Size is a lower bound for a
	// growing file.
	Meta transfer.Meta
	// Dests are indexes into the sender's destinations.
	Dests []int
	// Growing marks a file still being written: its checkpoint identity is
	// the inode, not a size and mtime that move with every write.
	Growing bool
}

// Outcome is what happened at one destination.
type Outcome struct {
	Dest  int
	Err   error
	Bytes int64
}

// Result is the outcome of one Send.
type Result struct {
	// Size and Sum describe the bytes sent (and published, where Outs say so).
	Size int64
	Sum  [32]byte
	Meta transfer.Meta
	// Err is a source error (read failed, ErrChanged); nothing was
	// published then and Outs is nil.
	Err  error
	Outs []Outcome
}

// Sender sends files to a job's destinations. It is safe for concurrent use.
type Sender struct {
	dests []Dest
	opts  Options
	// hashers keeps BLAKE3 states (about 10 KiB each) between files.
	hashers sync.Pool
	chunks  sync.Pool
}

// New returns a Sender for dests.
func New(dests []Dest, opts Options) *Sender {
	if opts.Queue <= 0 {
		opts.Queue = 4
	}
	if opts.Read == nil {
		opts.Read = new(atomic.Int64)
	}
	return &Sender{dests: dests, opts: opts}
}

func (s *Sender) hasher() *blake3.Hasher {
	h, _ := s.hashers.Get().(*blake3.Hasher)
	if h == nil {
		return blake3.New()
	}
	h.Reset()
	return h
}

// pool picks f's chunk buffers: small ones for a small file, so many small
// files in flight do not pin big buffers. A growing file's size at the
// start says nothing of its end (a recording starts empty), so it always
// gets full-size chunks: small ones would cost a destination write per
// 64 KiB and let the sender fall behind the writer.
func (s *Sender) pool(f File) *transfer.BufferPool {
	size := f.Meta.Size
	if !f.Growing && s.opts.Small != nil && size >= 0 && size < s.opts.SmallFile && s.opts.Small.Size() < s.opts.Pool.Size() {
		return s.opts.Small
	}
	return s.opts.Pool
}

// Send reads src to its end, writes every chunk to f's destinations, and
// publishes at each one only after src confirmed the bytes. On a source
// error every upload is aborted (or, when ctx ended, kept for resuming).
func (s *Sender) Send(ctx context.Context, f File, src Source) Result {
	h := s.hasher()
	defer s.hashers.Put(h)
	ups, outs := s.beginAll(ctx, f, src)
	var n int64
	var err error
	var fo *fanout
	if len(ups) == 1 {
		n, err = s.readSerial(ctx, f, src, h, &ups[0])
	} else {
		fo = s.startFanout(ctx, ups)
		n, err = s.readFanout(ctx, f, src, h, fo)
	}
	res := Result{Size: n, Meta: f.Meta}
	if err == nil {
		h.Sum(res.Sum[:0])
		err = src.Confirm(ctx, n, res.Sum)
	}
	var final *transfer.Meta
	if err == nil {
		res.Meta.Size, res.Meta.Hash = n, res.Sum[:]
		if mt := src.Identity().MTime; !mt.IsZero() {
			res.Meta.ModTime = mt // a growing file's mtime moved while it was sent
		}
		if xs, ok := src.(XattrSource); ok && s.opts.Xattrs {
			res.Meta.Xattrs = xs.Xattrs()
		}
		final = &res.Meta
	}
	if fo != nil {
		fo.finish(final)
	} else if len(ups) == 1 {
		ups[0].finish(ctx, final)
	}
	if err != nil {
		res.Err = err
		return res
	}
	for k := range ups {
		outs[k] = Outcome{Dest: ups[k].idx, Err: ups[k].err, Bytes: n}
	}
	res.Outs = outs
	return res
}

// readSerial reads src and writes each chunk to the only upload itself: no
// goroutine, one buffer (a ChunkSource's own buffers, see readChunks).
func (s *Sender) readSerial(ctx context.Context, f File, src Source, h *blake3.Hasher, u *upload) (int64, error) {
	if cs, ok := src.(ChunkSource); ok {
		return s.readChunks(ctx, cs, h, u)
	}
	pool := s.pool(f)
	bp := pool.Get()
	defer pool.Put(bp)
	var off int64
	for {
		k, err := src.Read(ctx, *bp)
		if k > 0 {
			p := (*bp)[:k]
			_, _ = h.Write(p)
			u.write(ctx, off, p)
			off += int64(k)
			s.opts.Read.Add(int64(k))
		}
		if err != nil {
			return off, endOf(ctx, err)
		}
	}
}
