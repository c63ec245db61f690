// Package limit wraps a transfer.Destination so the bytes written to it go
// through a token-bucket rate limiter (golang.org/x/time/rate), the job's
// bandwidth limit.
//
// What is limited: bytes sent to destinations. A job's destinations are all
// wrapped with the job's one limiter, so the limit is the job's total
// outgoing bandwidth: a file replicated to N destinations counts N times,
// since it crosses the network N times. Only Upload.Write is limited; the
// reads of verification (Open), metadata operations and hard links are not,
// as they carry no file content out.
//
// Put the limiter inside the retry decorator (retry.New(limit.New(d, l),
// p)): a retried Write sends its bytes again, and they count again.
//
// The decorator intercepts no optional ability, so it implements only
// Destination and Unwrapper, and transfer.As finds the inner destination's
// abilities unchanged.
package limit

import (
	"context"
	"fmt"

	"golang.org/x/time/rate"

	"github.com/efssync/efssync/transfer"
)

// Dest is a Destination whose writes wait for the limiter.
type Dest struct {
	inner transfer.Destination
	l     *rate.Limiter
}

// New wraps d so writes wait for l, one token per byte. A nil l means no
// limit and returns d itself. l's burst must be at least 1 unless its limit
// is rate.Inf; a burst of 64 KiB to 1 MiB keeps the flow smooth without a
// wait per small write.
func New(d transfer.Destination, l *rate.Limiter) transfer.Destination {
	if l == nil {
		return d
	}
	return &Dest{inner: d, l: l}
}

// Name implements transfer.Destination; it is the inner destination's name.
func (d *Dest) Name() string { return d.inner.Name() }

// Unwrap implements transfer.Unwrapper.
func (d *Dest) Unwrap() transfer.Destination { return d.inner }

// Begin implements transfer.Destination.
func (d *Dest) Begin(ctx context.Context, rel string, m transfer.Meta, resume *transfer.Checkpoint) (transfer.Upload, error) {
	u, err := d.inner.Begin(ctx, rel, m, resume)
	if err != nil {
		return nil, err
	}
	return &upload{u: u, l: d.l, rel: rel}, nil
}

// Stat implements transfer.Destination.
func (d *Dest) Stat(ctx context.Context, rel string) (transfer.Meta, error) {
	return d.inner.Stat(ctx, rel)
}

// Remove implements transfer.Destination.
func (d *Dest) Remove(ctx context.Context, rel string) error {
	return d.inner.Remove(ctx, rel)
}

type upload struct {
	u   transfer.Upload
	l   *rate.Limiter
	rel string
}

// Write waits for len(p) tokens, taken in slices no larger than the burst,
// then hands p to the inner upload in one piece: splitting it would
// multiply the calls (and, for S3, fragment nothing but the bookkeeping).
func (u *upload) Write(ctx context.Context, off int64, p []byte) error {
	if err := wait(ctx, u.l, len(p)); err != nil {
		return fmt.Errorf("bandwidth limit for %q at %d: %w", u.rel, off, err)
	}
	return u.u.Write(ctx, off, p)
}

func wait(ctx context.Context, l *rate.Limiter, n int) error {
	if l.Limit() == rate.Inf {
		return nil
	}
	burst := l.Burst()
	if burst <= 0 {
		return fmt.Errorf("limiter burst %d lets no byte through", burst)
	}
	for n > 0 {
		k := min(n, burst)
		if err := l.WaitN(ctx, k); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

func (u *upload) Checkpoint() *transfer.Checkpoint { return u.u.Checkpoint() }

// Flush implements transfer.Flusher for the upload it wraps.
func (u *upload) Flush(ctx context.Context) error { return transfer.Flush(ctx, u.u) }

func (u *upload) Commit(ctx context.Context, final transfer.Meta) error {
	return u.u.Commit(ctx, final)
}

func (u *upload) Abort(ctx context.Context) error { return u.u.Abort(ctx) }
