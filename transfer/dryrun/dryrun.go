// Package dryrun wraps a transfer.Destination so a job can run end to end,
// planning, reading and reporting as usual, without changing the
// destination. Reads (Stat, List, Open) reach the real destination so the
// plan and the report are those of a real run; everything that would change
// it does nothing and succeeds.
//
// It must be impossible to mutate the destination through the decorator,
// also through transfer.As. So, unlike the other decorators, its Unwrap
// never leads to the inner destination:
//   - the mutating abilities the inner destination has (DirMaker,
//     Symlinker, Linker, Syncer, Cleaner) are offered as no-ops, so the
//     agent takes the same decisions as in a real run (an S3 destination
//     still has no Mkdir);
//   - the reading abilities it has (Lister, Opener) are passed through;
//   - nothing else is reachable: Unwrap returns a chain of one adapter per
//     ability that ends in nil, so neither the concrete inner type nor any
//     ability added to package transfer later can be found behind it.
//
// Begin does not call the inner Begin, which would create a temp file or a
// multipart upload: it returns an Upload that discards the bytes.
package dryrun

import (
	"context"

	"github.com/efssync/efssync/transfer"
)

// Dest is a Destination that reads the inner one and changes nothing.
type Dest struct {
	inner transfer.Destination
	chain transfer.Destination
}

// New wraps d for a dry run.
func New(d transfer.Destination) transfer.Destination {
	r := &Dest{inner: d}
	r.chain = r.abilities()
	return r
}

// Name implements transfer.Destination; it is the inner destination's name,
// so a dry run's report reads like the real one.
func (r *Dest) Name() string { return r.inner.Name() }

// Unwrap implements transfer.Unwrapper. It returns the no-op and read-only
// adapters of the inner destination's abilities, never the inner
// destination itself (nil when it has no optional ability).
func (r *Dest) Unwrap() transfer.Destination { return r.chain }

// Begin implements transfer.Destination with an Upload that discards what
// is written and publishes nothing.
func (r *Dest) Begin(ctx context.Context, _ string, _ transfer.Meta, _ *transfer.Checkpoint) (transfer.Upload, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return discard{}, nil
}

// Stat implements transfer.Destination by asking the inner destination.
func (r *Dest) Stat(ctx context.Context, rel string) (transfer.Meta, error) {
	return r.inner.Stat(ctx, rel)
}

// Discards implements transfer.Discarder: nothing sent through a dry run
// is published, so there is nothing to verify.
func (r *Dest) Discards() {}

// Remove implements transfer.Destination; it removes nothing.
func (r *Dest) Remove(ctx context.Context, _ string) error { return ctx.Err() }

type discard struct{}

func (discard) Write(ctx context.Context, _ int64, _ []byte) error { return ctx.Err() }
func (discard) Checkpoint() *transfer.Checkpoint                   { return nil }
func (discard) Commit(ctx context.Context, _ transfer.Meta) error  { return ctx.Err() }
func (discard) Abort(context.Context) error                        { return nil }

// abilities is the decorator's chain: a no-op for each mutating ability the
// inner destination has, the inner reading abilities as they are, and nil
// at the end instead of the inner destination. Each link embeds r, so a
// caller that asserts it back to a Destination still gets the dry-run Begin
// and Remove.
func (r *Dest) abilities() transfer.Destination {
	return transfer.Chain(r, r.inner, nil, transfer.Wrappers{
		Mkdir: func(transfer.DirMaker) transfer.DirMakerFunc {
			return func(ctx context.Context, _ string, _ transfer.Meta) error { return ctx.Err() }
		},
		Symlink: func(transfer.Symlinker) transfer.SymlinkerFunc {
			return func(ctx context.Context, _, _ string, _ transfer.Meta) error { return ctx.Err() }
		},
		Link: func(transfer.Linker) transfer.LinkerFunc {
			return func(ctx context.Context, _, _ string) error { return ctx.Err() }
		},
		Sync: func(transfer.Syncer) transfer.SyncerFunc {
			return func(ctx context.Context) error { return ctx.Err() }
		},
		Cleanup: func(transfer.Cleaner) transfer.CleanerFunc {
			return func(ctx context.Context, _ func(string) bool) (int, error) { return 0, ctx.Err() }
		},
		List: func(v transfer.Lister) transfer.ListerFunc { return v.List },
		Open: func(v transfer.Opener) transfer.OpenerFunc { return v.Open },
	})
}
