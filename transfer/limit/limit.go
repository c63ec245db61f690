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
// A timetable (NewScheduled) changes the limiter's rate when a write finds
// that another entry is in force, judged on an injected clock. A write that
// is already waiting finishes at the rate it started with; as waits are
// taken in slices of the burst, the new rate applies within one burst.
//
// The decorator intercepts no optional ability, so it implements only
// Destination and Unwrapper, and transfer.As finds the inner destination's
// abilities unchanged.
package limit

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/time/rate"

	"github.com/efssync/efssync/transfer"
)

// Dest is a Destination whose writes wait for the limiter.
type Dest struct {
	inner transfer.Destination
	l     *rate.Limiter
	s     Schedule // nil: l's rate never changes
	clock Clock
}

// Schedule gives the rate in force at a time, in bytes per second; 0 or
// less is no limit. config.BwLimit (the key bwlimit) is one.
type Schedule interface {
	RateAt(t time.Time) int64
}

// Clock tells the time a Schedule is read at; SystemClock in production.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock, in the local time zone, as an operator
// reads a timetable.
type SystemClock struct{}

// Now implements Clock.
func (SystemClock) Now() time.Time { return time.Now() }

// NewScheduled wraps d as New does, and sets l's rate to the one s gives at
// c's time before every write. l is shared by a job's destinations, so the
// timetable bounds the job's total; its burst must be at least 1, since a
// timetable's rates change from "off" (rate.Inf) to a limit. A nil s is New.
func NewScheduled(d transfer.Destination, l *rate.Limiter, s Schedule, c Clock) transfer.Destination {
	if s == nil || l == nil {
		return New(d, l)
	}
	return &Dest{inner: d, l: l, s: s, clock: c}
}

// follow sets the limiter's rate to the timetable's at this moment.
func (d *Dest) follow() {
	if d.s == nil {
		return
	}
	now := d.clock.Now()
	want := rate.Inf
	if r := d.s.RateAt(now); r > 0 {
		want = rate.Limit(r)
	}
	if d.l.Limit() != want {
		d.l.SetLimit(want) // the limiter keeps its own time, as WaitN does
	}
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
	return &upload{u: u, d: d, rel: rel}, nil
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
	d   *Dest
	rel string
}

// Write waits for len(p) tokens, taken in slices no larger than the burst,
// then hands p to the inner upload in one piece: splitting it would
// multiply the calls (and, for S3, fragment nothing but the bookkeeping).
func (u *upload) Write(ctx context.Context, off int64, p []byte) error {
	u.d.follow()
	if err := wait(ctx, u.d.l, len(p)); err != nil {
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
