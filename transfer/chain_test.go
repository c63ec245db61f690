package transfer

import (
	"context"
	"testing"
)

// plainDest has no optional ability.
type plainDest struct{ name string }

func (f *plainDest) Name() string { return f.name }
func (f *plainDest) Begin(context.Context, string, Meta, *Checkpoint) (Upload, error) {
	return nil, nil
}
func (f *plainDest) Stat(context.Context, string) (Meta, error) { return Meta{}, nil }
func (f *plainDest) Remove(context.Context, string) error       { return nil }

// fakeDest has two optional abilities, DirMaker and Lister.
type fakeDest struct{ plainDest }

func (f *fakeDest) Mkdir(context.Context, string, Meta) error { return nil }
func (f *fakeDest) List(ctx context.Context, fn func(string, Meta) error) error {
	return fn("a", Meta{})
}

// wrapper is a decorator whose Unwrap is the chain under test.
type wrapper struct {
	*plainDest
	chain Destination
}

func (w *wrapper) Unwrap() Destination { return w.chain }

func TestChainOffersExactlyTheInnerAbilities(t *testing.T) {
	inner := &fakeDest{plainDest{name: "inner"}}
	for _, end := range []Destination{inner, nil} {
		outer := &wrapper{plainDest: &plainDest{name: "outer"}}
		var mkdirs, lists int
		outer.chain = Chain(outer, inner, end, Wrappers{
			Mkdir: func(v DirMaker) DirMakerFunc {
				return func(ctx context.Context, rel string, m Meta) error { mkdirs++; return v.Mkdir(ctx, rel, m) }
			},
			List: func(v Lister) ListerFunc {
				return func(ctx context.Context, fn func(string, Meta) error) error { lists++; return v.List(ctx, fn) }
			},
			Symlink: func(Symlinker) SymlinkerFunc { t.Fatal("wrapped an ability the inner destination lacks"); return nil },
		})
		dm, ok := As[DirMaker](outer)
		if !ok {
			t.Fatal("DirMaker not found through the chain")
		}
		_ = dm.Mkdir(context.Background(), "d", Meta{})
		l, ok := As[Lister](outer)
		if !ok {
			t.Fatal("Lister not found through the chain")
		}
		_ = l.List(context.Background(), func(string, Meta) error { return nil })
		if mkdirs != 1 || lists != 1 {
			t.Fatalf("calls did not go through the wrappers: mkdir %d, list %d", mkdirs, lists)
		}
		if _, ok := As[Symlinker](outer); ok {
			t.Fatal("Symlinker found, but the inner destination has none")
		}
		// A link found through As is still the decorator for the Destination methods.
		if d, ok := dm.(Destination); !ok || d.Name() != "outer" {
			t.Fatalf("the DirMaker link is not the decorator: %v", d)
		}
		// The chain ends where it was told to.
		var last Destination = outer.chain
		for {
			u, ok := last.(Unwrapper)
			if !ok {
				break
			}
			next := u.Unwrap()
			if next == nil {
				break
			}
			last = next
		}
		if end == nil && last == Destination(inner) || end != nil && last != Destination(inner) {
			t.Fatalf("chain ends at %v, want %v", last, end)
		}
	}
}
