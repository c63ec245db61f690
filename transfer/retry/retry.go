// Package retry wraps a transfer.Destination so operations that fail with an
// error marked transfer.Retriable are tried again after a backoff. It exists
// so every destination gets the same, tested retry behaviour instead of each
// implementation growing its own loops.
//
// What is retried: Begin, Stat, Remove, Upload.Write, Upload.Commit,
// Upload.Abort, and the optional abilities Mkdir, Symlink, Link, Open, Sync
// and Cleanup. List is retried only when it failed before calling fn, since
// a retry would report entries twice. Never retried: errors not marked
// Retriable, errors marked transfer.Fatal, and anything after the context
// is done.
//
// Contracts this places on destinations:
//   - Upload.Write must be idempotent for the same offset: a failed Write
//     may have been partly applied, and the retry sends the same (off, p)
//     again. The transfertest suite checks this (WriteIdempotent).
//   - An Upload.Commit, Begin or Remove that returns a Retriable error must
//     be safe to call again; a destination that cannot repeat an operation
//     must not mark its errors Retriable.
//
// Optional abilities are reached with transfer.As as usual. The decorator
// exposes exactly the abilities of the destination it wraps, each with
// retries: Unwrap returns a chain of one small adapter per ability the inner
// destination has, ending at the inner destination itself.
package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/efssync/efssync/transfer"
)

// Policy says how often and how patiently to retry. The zero value is
// usable: every zero field takes its default.
type Policy struct {
	// MaxAttempts is the number of tries including the first; 1 disables
	// retrying. Default 5.
	MaxAttempts int
	// Base is the backoff cap before the first retry; it doubles for every
	// further retry up to Max. Default 100ms.
	Base time.Duration
	// Max caps the backoff. Default 10s.
	Max time.Duration
	// Sleep waits d or until ctx is done, returning ctx's error then. Tests
	// inject one that records and returns at once. Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a uniform random number in [0, n), n > 0, for the
	// jitter; it is called from many goroutines at once. Default:
	// math/rand/v2's Int64N.
	Rand func(n int64) int64
	// DownAfter is how many operations in a row may fail with a retriable
	// error (after their retries) before the destination is marked down
	// for the rest of the run: every later operation then fails at once
	// with one transfer.Fatal error naming the destination and the last
	// cause, instead of one long retry per file. Default 3; negative never.
	DownAfter int
	// DownFor, when positive, ends a down mark after that long: the next
	// operation is tried again, and one more failure marks the
	// destination down again at once. A watch-mode run never ends, so
	// "down for the rest of the run" would be forever. Zero keeps the
	// mark for the whole run.
	DownFor time.Duration
	// Now is the clock DownFor is measured on. Default: time.Now.
	Now func() time.Time
	// OnRetry, when set, is told about every failure that will be retried,
	// for logs and metrics. attempt is the number of the failed try (1 for
	// the first).
	OnRetry func(op, rel string, attempt int, err error)
}

func (p Policy) withDefaults() Policy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 5
	}
	if p.DownAfter == 0 {
		p.DownAfter = 3
	}
	if p.Base <= 0 {
		p.Base = 100 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 10 * time.Second
	}
	if p.Max < p.Base {
		p.Max = p.Base
	}
	if p.Sleep == nil {
		p.Sleep = sleep
	}
	if p.Rand == nil {
		p.Rand = rand.Int64N
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	return p
}

// Backoff returns the wait before retry number n (0 for the first retry):
// "full jitter", a uniform draw from [0, min(Max, Base·2ⁿ)], which spreads
// the retries of many parallel uploads hitting the same failing server.
func (p Policy) Backoff(n int) time.Duration {
	p = p.withDefaults()
	ceil := p.Base
	for range n {
		if ceil >= p.Max/2 {
			ceil = p.Max
			break
		}
		ceil *= 2
	}
	ceil = min(ceil, p.Max)
	return time.Duration(p.Rand(int64(ceil) + 1))
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retriable reports whether another try can help.
func retriable(ctx context.Context, err error) bool {
	switch {
	case ctx.Err() != nil,
		errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded),
		transfer.IsFatal(err):
		return false
	}
	return transfer.IsRetriable(err)
}

// do runs fn under the policy and keeps count of the operations in a row
// that failed with a transport error, marking the destination down after
// DownAfter of them.
func (r *Dest) do(ctx context.Context, op, rel string, fn func() error) error {
	// Abort is cleanup, not new work: it is always tried, so a destination
	// marked down keeps no temp file or upload of this run behind.
	if down := r.down.Load(); down != nil && op != "abort" {
		if r.p.DownFor <= 0 || r.p.Now().Before(down.until) {
			return down.err
		}
		r.down.CompareAndSwap(down, nil) // try again (failures stay high)
	}
	err := r.p.do(ctx, op, rel, fn)
	switch {
	case err == nil || !transfer.IsRetriable(err):
		r.failures.Store(0) // the destination answered
	case ctx.Err() == nil:
		if n := r.failures.Add(1); r.p.DownAfter > 0 && int(n) >= r.p.DownAfter {
			down := transfer.Fatal(fmt.Errorf("destination %s is down for this run: %d operations in a row failed after retries; last: %w",
				r.inner.Name(), n, err))
			r.down.CompareAndSwap(nil, &downMark{err: down, until: r.p.Now().Add(r.p.DownFor)})
		}
	}
	return err
}

// do runs fn until it succeeds, fails for good, or runs out of attempts.
func (p *Policy) do(ctx context.Context, op, rel string, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if nr, ok := err.(noRetry); ok {
			return nr.err
		}
		if err == nil || !retriable(ctx, err) {
			return err
		}
		if attempt >= p.MaxAttempts {
			return fmt.Errorf("%s %q: giving up after %d attempts: %w", op, rel, attempt, err)
		}
		if p.OnRetry != nil {
			p.OnRetry(op, rel, attempt, err)
		}
		if serr := p.Sleep(ctx, p.Backoff(attempt-1)); serr != nil {
			return fmt.Errorf("%s %q: retry wait interrupted (%w) after: %w", op, rel, serr, err)
		}
	}
}

// noRetry tells do to return err as it is, without another try, while
// keeping its marks for callers further up.
type noRetry struct{ err error }

func (e noRetry) Error() string { return e.err.Error() }

// Dest is a Destination whose operations are retried.
type Dest struct {
	inner transfer.Destination
	p     Policy
	chain transfer.Destination
	// failures counts operations in a row that failed with a transport
	// error; down is set once they reach p.DownAfter.
	failures atomic.Int32
	down     atomic.Pointer[downMark]
}

// downMark is a destination marked down: the error every operation
// returns until (with Policy.DownFor).
type downMark struct {
	err   error
	until time.Time
}

// New wraps d with retries under p.
func New(d transfer.Destination, p Policy) transfer.Destination {
	r := &Dest{inner: d, p: p.withDefaults()}
	r.chain = r.abilities()
	return r
}

// Name implements transfer.Destination; it is the inner destination's name,
// since retrying does not make a different place.
func (r *Dest) Name() string { return r.inner.Name() }

// Unwrap implements transfer.Unwrapper. It returns the retrying adapters of
// the inner destination's abilities, which unwrap in turn to the inner
// destination.
func (r *Dest) Unwrap() transfer.Destination { return r.chain }

// Begin implements transfer.Destination.
func (r *Dest) Begin(ctx context.Context, rel string, m transfer.Meta, resume *transfer.Checkpoint) (transfer.Upload, error) {
	var u transfer.Upload
	err := r.do(ctx, "begin", rel, func() (err error) {
		u, err = r.inner.Begin(ctx, rel, m, resume)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &upload{u: u, r: r, rel: rel}, nil
}

// Stat implements transfer.Destination.
func (r *Dest) Stat(ctx context.Context, rel string) (transfer.Meta, error) {
	var m transfer.Meta
	err := r.do(ctx, "stat", rel, func() (err error) {
		m, err = r.inner.Stat(ctx, rel)
		return err
	})
	return m, err
}

// Remove implements transfer.Destination.
func (r *Dest) Remove(ctx context.Context, rel string) error {
	return r.do(ctx, "remove", rel, func() error { return r.inner.Remove(ctx, rel) })
}

type upload struct {
	u   transfer.Upload
	r   *Dest
	rel string
}

func (u *upload) Write(ctx context.Context, off int64, p []byte) error {
	return u.r.do(ctx, "write", u.rel, func() error { return u.u.Write(ctx, off, p) })
}

func (u *upload) Checkpoint() *transfer.Checkpoint { return u.u.Checkpoint() }

// Flush implements transfer.Flusher for the upload it wraps.
func (u *upload) Flush(ctx context.Context) error { return transfer.Flush(ctx, u.u) }

func (u *upload) Commit(ctx context.Context, final transfer.Meta) error {
	return u.r.do(ctx, "commit", u.rel, func() error { return u.u.Commit(ctx, final) })
}

func (u *upload) Abort(ctx context.Context) error {
	return u.r.do(ctx, "abort", u.rel, func() error { return u.u.Abort(ctx) })
}

// abilities is the decorator's chain of the inner destination's abilities,
// each retried. Each link embeds r, so whatever As returns still retries
// Begin, Stat and Remove.
func (r *Dest) abilities() transfer.Destination {
	return transfer.Chain(r, r.inner, r.inner, transfer.Wrappers{
		Mkdir: func(v transfer.DirMaker) transfer.DirMakerFunc {
			return func(ctx context.Context, rel string, m transfer.Meta) error {
				return r.do(ctx, "mkdir", rel, func() error { return v.Mkdir(ctx, rel, m) })
			}
		},
		Symlink: func(v transfer.Symlinker) transfer.SymlinkerFunc {
			return func(ctx context.Context, rel, target string, m transfer.Meta) error {
				return r.do(ctx, "symlink", rel, func() error { return v.Symlink(ctx, rel, target, m) })
			}
		},
		Link: func(v transfer.Linker) transfer.LinkerFunc {
			return func(ctx context.Context, existing, rel string) error {
				return r.do(ctx, "link", rel, func() error { return v.Link(ctx, existing, rel) })
			}
		},
		List: func(v transfer.Lister) transfer.ListerFunc {
			// Retried only when it failed before the first entry: after
			// that a retry would hand fn entries it has seen.
			return func(ctx context.Context, fn func(rel string, m transfer.Meta) error) error {
				called := false
				return r.do(ctx, "list", "", func() error {
					err := v.List(ctx, func(rel string, m transfer.Meta) error {
						called = true
						return fn(rel, m)
					})
					if err != nil && called {
						return noRetry{err}
					}
					return err
				})
			}
		},
		Open: func(v transfer.Opener) transfer.OpenerFunc {
			return func(ctx context.Context, rel string) (rc io.ReadCloser, err error) {
				err = r.do(ctx, "open", rel, func() (err error) {
					rc, err = v.Open(ctx, rel)
					return err
				})
				return rc, err
			}
		},
		Sync: func(v transfer.Syncer) transfer.SyncerFunc {
			return func(ctx context.Context) error {
				return r.do(ctx, "sync", "", func() error { return v.Sync(ctx) })
			}
		},
		Cleanup: func(v transfer.Cleaner) transfer.CleanerFunc {
			return func(ctx context.Context, keep func(uploadID string) bool) (int, error) {
				total := 0
				err := r.do(ctx, "cleanup", "", func() error {
					n, err := v.Cleanup(ctx, keep)
					total += n // a failed pass may have removed some before failing
					return err
				})
				return total, err
			}
		},
	})
}
