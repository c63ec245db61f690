// Package count wraps a transfer.Destination and counts the operations
// made through it. Benchmarks report the counts, and tests assert with them
// what the agent must not do, such as "an unchanged second run begins no
// upload and writes 0 bytes".
//
// Every call is counted when it is made, whether it succeeds or not. Put
// the counter outside the retry decorator to count what the agent asked
// for, inside it to count what reached the destination.
//
// Optional abilities are reached with transfer.As as usual: the decorator
// exposes exactly the abilities of the destination it wraps, each counted.
// Unwrap returns a chain of one small adapter per ability the inner
// destination has, ending at the inner destination itself.
package count

import (
	"context"
	"io"
	"sync/atomic"

	"github.com/efssync/efssync/transfer"
)

// Counts is a snapshot of the operations made through a Dest.
type Counts struct {
	Begin      int64 // Destination.Begin calls
	Writes     int64 // Upload.Write calls
	WriteBytes int64 // bytes passed to Upload.Write
	Commit     int64 // Upload.Commit calls
	Abort      int64 // Upload.Abort calls
	Stat       int64
	Remove     int64
	Mkdir      int64
	Symlink    int64
	Link       int64
	List       int64
	Open       int64
	Sync       int64
	Cleanup    int64
}

// Sub returns c minus o, the operations made between two snapshots.
func (c Counts) Sub(o Counts) Counts {
	return Counts{
		Begin: c.Begin - o.Begin, Writes: c.Writes - o.Writes, WriteBytes: c.WriteBytes - o.WriteBytes,
		Commit: c.Commit - o.Commit, Abort: c.Abort - o.Abort, Stat: c.Stat - o.Stat,
		Remove: c.Remove - o.Remove, Mkdir: c.Mkdir - o.Mkdir, Symlink: c.Symlink - o.Symlink,
		Link: c.Link - o.Link, List: c.List - o.List, Open: c.Open - o.Open,
		Sync: c.Sync - o.Sync, Cleanup: c.Cleanup - o.Cleanup,
	}
}

// Mutations is the number of calls that change the destination (Begin
// included: it may create a temp file or a multipart upload).
func (c Counts) Mutations() int64 {
	return c.Begin + c.Writes + c.Commit + c.Remove + c.Mkdir + c.Symlink + c.Link + c.Cleanup
}

type counters struct {
	begin, writes, writeBytes, commit, abort, stat, remove atomic.Int64
	mkdir, symlink, link, list, open, sync, cleanup        atomic.Int64
}

// Dest counts the operations made through it. It is safe for concurrent
// use.
type Dest struct {
	inner transfer.Destination
	chain transfer.Destination
	n     counters
}

// New wraps d with a counter starting at zero.
func New(d transfer.Destination) *Dest {
	c := &Dest{inner: d}
	c.chain = c.abilities()
	return c
}

// Snapshot returns the counts so far. Counters are read one by one, so a
// snapshot taken while operations run may mix moments.
func (c *Dest) Snapshot() Counts {
	return Counts{
		Begin: c.n.begin.Load(), Writes: c.n.writes.Load(), WriteBytes: c.n.writeBytes.Load(),
		Commit: c.n.commit.Load(), Abort: c.n.abort.Load(), Stat: c.n.stat.Load(),
		Remove: c.n.remove.Load(), Mkdir: c.n.mkdir.Load(), Symlink: c.n.symlink.Load(),
		Link: c.n.link.Load(), List: c.n.list.Load(), Open: c.n.open.Load(),
		Sync: c.n.sync.Load(), Cleanup: c.n.cleanup.Load(),
	}
}

// Name implements transfer.Destination; it is the inner destination's name.
func (c *Dest) Name() string { return c.inner.Name() }

// Unwrap implements transfer.Unwrapper: the counting adapters of the inner
// destination's abilities, which unwrap in turn to the inner destination.
func (c *Dest) Unwrap() transfer.Destination { return c.chain }

// Begin implements transfer.Destination.
func (c *Dest) Begin(ctx context.Context, rel string, m transfer.Meta, resume *transfer.Checkpoint) (transfer.Upload, error) {
	c.n.begin.Add(1)
	u, err := c.inner.Begin(ctx, rel, m, resume)
	if err != nil {
		return nil, err
	}
	return &upload{u: u, n: &c.n}, nil
}

// Stat implements transfer.Destination.
func (c *Dest) Stat(ctx context.Context, rel string) (transfer.Meta, error) {
	c.n.stat.Add(1)
	return c.inner.Stat(ctx, rel)
}

// Remove implements transfer.Destination.
func (c *Dest) Remove(ctx context.Context, rel string) error {
	c.n.remove.Add(1)
	return c.inner.Remove(ctx, rel)
}

type upload struct {
	u transfer.Upload
	n *counters
}

func (u *upload) Write(ctx context.Context, off int64, p []byte) error {
	u.n.writes.Add(1)
	u.n.writeBytes.Add(int64(len(p)))
	return u.u.Write(ctx, off, p)
}

func (u *upload) Checkpoint() *transfer.Checkpoint { return u.u.Checkpoint() }

// Flush implements transfer.Flusher for the upload it wraps.
func (u *upload) Flush(ctx context.Context) error { return transfer.Flush(ctx, u.u) }

func (u *upload) Commit(ctx context.Context, final transfer.Meta) error {
	u.n.commit.Add(1)
	return u.u.Commit(ctx, final)
}

func (u *upload) Abort(ctx context.Context) error {
	u.n.abort.Add(1)
	return u.u.Abort(ctx)
}

// abilities is the decorator's chain of the inner destination's abilities,
// each counted.
func (c *Dest) abilities() transfer.Destination {
	return transfer.Chain(c, c.inner, c.inner, transfer.Wrappers{
		Mkdir: func(v transfer.DirMaker) transfer.DirMakerFunc {
			return func(ctx context.Context, rel string, m transfer.Meta) error {
				c.n.mkdir.Add(1)
				return v.Mkdir(ctx, rel, m)
			}
		},
		Symlink: func(v transfer.Symlinker) transfer.SymlinkerFunc {
			return func(ctx context.Context, rel, target string, m transfer.Meta) error {
				c.n.symlink.Add(1)
				return v.Symlink(ctx, rel, target, m)
			}
		},
		Link: func(v transfer.Linker) transfer.LinkerFunc {
			return func(ctx context.Context, existing, rel string) error {
				c.n.link.Add(1)
				return v.Link(ctx, existing, rel)
			}
		},
		List: func(v transfer.Lister) transfer.ListerFunc {
			return func(ctx context.Context, fn func(rel string, m transfer.Meta) error) error {
				c.n.list.Add(1)
				return v.List(ctx, fn)
			}
		},
		Open: func(v transfer.Opener) transfer.OpenerFunc {
			return func(ctx context.Context, rel string) (io.ReadCloser, error) {
				c.n.open.Add(1)
				return v.Open(ctx, rel)
			}
		},
		Sync: func(v transfer.Syncer) transfer.SyncerFunc {
			return func(ctx context.Context) error {
				c.n.sync.Add(1)
				return v.Sync(ctx)
			}
		},
		Cleanup: func(v transfer.Cleaner) transfer.CleanerFunc {
			return func(ctx context.Context, keep func(uploadID string) bool) (int, error) {
				c.n.cleanup.Add(1)
				return v.Cleanup(ctx, keep)
			}
		},
	})
}
