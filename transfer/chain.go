package transfer

import (
	"context"
	"io"
)

// A decorator (retry, count, dry run) must offer exactly the optional
// abilities of the destination it wraps, each with its own behaviour around
// the call: transfer.As has to find an ability through the decorator when,
// and only when, the inner destination has it. Chain builds that once for
// all decorators: one small node per ability, each implementing just that
// interface.

// The ability func types let a decorator give one ability's behaviour as a
// closure instead of declaring a type for it.
type (
	// DirMakerFunc is a func that is a DirMaker.
	DirMakerFunc func(ctx context.Context, rel string, m Meta) error
	// SymlinkerFunc is a func that is a Symlinker.
	SymlinkerFunc func(ctx context.Context, rel, target string, m Meta) error
	// LinkerFunc is a func that is a Linker.
	LinkerFunc func(ctx context.Context, existing, rel string) error
	// ListerFunc is a func that is a Lister.
	ListerFunc func(ctx context.Context, fn func(rel string, m Meta) error) error
	// OpenerFunc is a func that is an Opener.
	OpenerFunc func(ctx context.Context, rel string) (io.ReadCloser, error)
	// SyncerFunc is a func that is a Syncer.
	SyncerFunc func(ctx context.Context) error
	// CleanerFunc is a func that is a Cleaner.
	CleanerFunc func(ctx context.Context, keep func(uploadID string) bool) (int, error)
)

// Mkdir implements DirMaker.
func (f DirMakerFunc) Mkdir(ctx context.Context, rel string, m Meta) error { return f(ctx, rel, m) }

// Symlink implements Symlinker.
func (f SymlinkerFunc) Symlink(ctx context.Context, rel, target string, m Meta) error {
	return f(ctx, rel, target, m)
}

// Link implements Linker.
func (f LinkerFunc) Link(ctx context.Context, existing, rel string) error {
	return f(ctx, existing, rel)
}

// List implements Lister.
func (f ListerFunc) List(ctx context.Context, fn func(rel string, m Meta) error) error {
	return f(ctx, fn)
}

// Open implements Opener.
func (f OpenerFunc) Open(ctx context.Context, rel string) (io.ReadCloser, error) { return f(ctx, rel) }

// Sync implements Syncer.
func (f SyncerFunc) Sync(ctx context.Context) error { return f(ctx) }

// Cleanup implements Cleaner.
func (f CleanerFunc) Cleanup(ctx context.Context, keep func(uploadID string) bool) (int, error) {
	return f(ctx, keep)
}

// Wrappers is what a decorator does around each optional ability: given the
// inner destination's ability, the behaviour to offer in its place. A nil
// field leaves that ability out of the chain.
type Wrappers struct {
	Mkdir   func(DirMaker) DirMakerFunc
	Symlink func(Symlinker) SymlinkerFunc
	Link    func(Linker) LinkerFunc
	List    func(Lister) ListerFunc
	Open    func(Opener) OpenerFunc
	Sync    func(Syncer) SyncerFunc
	Cleanup func(Cleaner) CleanerFunc
}

// Chain returns what the decorator outer's Unwrap should return: one node
// per optional ability that inner has and w wraps. Each node embeds outer,
// so whatever As finds still behaves as the decorator for Name, Begin, Stat
// and Remove, and the last node unwraps to end: inner for a decorator that
// may let callers reach the inner destination, nil for one that must not.
func Chain(outer, inner, end Destination, w Wrappers) Destination {
	next := end
	if v, ok := As[DirMaker](inner); ok && w.Mkdir != nil {
		next = dirMakerNode{node{outer, next}, w.Mkdir(v)}
	}
	if v, ok := As[Symlinker](inner); ok && w.Symlink != nil {
		next = symlinkerNode{node{outer, next}, w.Symlink(v)}
	}
	if v, ok := As[Linker](inner); ok && w.Link != nil {
		next = linkerNode{node{outer, next}, w.Link(v)}
	}
	if v, ok := As[Lister](inner); ok && w.List != nil {
		next = listerNode{node{outer, next}, w.List(v)}
	}
	if v, ok := As[Opener](inner); ok && w.Open != nil {
		next = openerNode{node{outer, next}, w.Open(v)}
	}
	if v, ok := As[Syncer](inner); ok && w.Sync != nil {
		next = syncerNode{node{outer, next}, w.Sync(v)}
	}
	if v, ok := As[Cleaner](inner); ok && w.Cleanup != nil {
		next = cleanerNode{node{outer, next}, w.Cleanup(v)}
	}
	return next
}

// node is a link of a chain: the decorator's Destination methods and the
// next link.
type node struct {
	Destination
	next Destination
}

func (n node) Unwrap() Destination { return n.next }

type dirMakerNode struct {
	node
	DirMakerFunc
}

type symlinkerNode struct {
	node
	SymlinkerFunc
}

type linkerNode struct {
	node
	LinkerFunc
}

type listerNode struct {
	node
	ListerFunc
}

type openerNode struct {
	node
	OpenerFunc
}

type syncerNode struct {
	node
	SyncerFunc
}

type cleanerNode struct {
	node
	CleanerFunc
}
