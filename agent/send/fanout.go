package send

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"github.com/zeebo/blake3"

	"github.com/efssync/efssync/transfer"
)

// chunk is one pooled buffer on its way to several destinations; the last
// writer to finish with it returns the buffer to its pool.
type chunk struct {
	buf  *[]byte
	pool *transfer.BufferPool
	off  int64
	n    int
	refs atomic.Int32
}

func (s *Sender) release(c *chunk) {
	if c.refs.Add(-1) == 0 {
		c.pool.Put(c.buf)
		c.buf = nil
		s.chunks.Put(c)
	}
}

// fanout is one file's writer goroutines, one per destination: each drains
// its own queue of chunks, then waits for the decision to publish or abandon.
type fanout struct {
	queues []chan *chunk
	decide []chan *transfer.Meta
	wg     sync.WaitGroup
}

func (s *Sender) startFanout(ctx context.Context, ups []upload) *fanout {
	fo := &fanout{queues: make([]chan *chunk, len(ups)), decide: make([]chan *transfer.Meta, len(ups))}
	for k := range ups {
		fo.queues[k] = make(chan *chunk, s.opts.Queue)
		fo.decide[k] = make(chan *transfer.Meta, 1)
		fo.wg.Go(func() {
			for c := range fo.queues[k] {
				ups[k].write(ctx, c.off, (*c.buf)[:c.n])
				s.release(c)
			}
			ups[k].finish(ctx, <-fo.decide[k])
		})
	}
	return fo
}

// finish hands every writer the decision (final nil abandons the uploads)
// and waits until each destination has carried it out.
func (fo *fanout) finish(final *transfer.Meta) {
	for _, d := range fo.decide {
		d <- final
	}
	fo.wg.Wait()
}

// read reads src once and queues every chunk to every writer (see the
// package documentation for the bound). It closes the queues when done.
func (s *Sender) readFanout(ctx context.Context, f File, src Source, h *blake3.Hasher, fo *fanout) (int64, error) {
	pool := s.pool(f)
	defer func() {
		for _, q := range fo.queues {
			close(q)
		}
	}()
	var off int64
	for {
		c, _ := s.chunks.Get().(*chunk)
		if c == nil {
			c = &chunk{}
		}
		c.buf, c.pool = pool.Get(), pool
		k, err := src.Read(ctx, *c.buf)
		if k > 0 {
			_, _ = h.Write((*c.buf)[:k])
			c.off, c.n = off, k
			c.refs.Store(int32(len(fo.queues)))
			for _, q := range fo.queues {
				q <- c
			}
			if len(fo.queues) == 0 { // every destination is down: hash only
				c.refs.Store(1)
				s.release(c)
			}
			off += int64(k)
			s.opts.Read.Add(int64(k))
		} else {
			pool.Put(c.buf)
			c.buf = nil
			s.chunks.Put(c)
		}
		if err != nil {
			return off, endOf(ctx, err)
		}
	}
}

// endOf turns the error that ended a read loop into the send's error: nil
// at the end of the source, ctx's error when ctx ended.
func endOf(ctx context.Context, err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return ctx.Err()
	}
	return err
}
