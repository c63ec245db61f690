package blocksum

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// content is n deterministic pseudo-random bytes.
func content(n int) []byte {
	p := make([]byte, n)
	r := rand.NewChaCha8([32]byte{'b', 's'})
	_, _ = r.Read(p)
	return p
}

// sumsOf fingerprints p written in pieces of the given sizes, cycling.
func sumsOf(p []byte, pieces ...int) *Sums {
	var s Sums
	for k := 0; len(p) > 0; k++ {
		n := min(pieces[k%len(pieces)], len(p))
		_, _ = s.Write(p[:n])
		p = p[n:]
	}
	return &s
}

func writeFile(t testing.TB, p []byte) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, p, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// Every way of cutting the stream into writes gives the same blocks, and a
// file holding the bytes compares equal: whole blocks, pieces that straddle
// block edges, one byte, and a short final block.
func TestCompareEqualWhateverTheWrites(t *testing.T) {
	sizes := []int{0, 1, BlockSize - 1, BlockSize, BlockSize + 1, 5*BlockSize + 12345}
	cuts := [][]int{{BlockSize}, {64 << 10}, {1000, 3 * BlockSize, 7}, {BlockSize + 1}, {1 << 30}}
	for _, size := range sizes {
		p := content(size)
		f := writeFile(t, p)
		ref := sumsOf(p, 1<<30).sums()
		for _, cut := range cuts {
			s := sumsOf(p, cut...)
			if s.Size() != int64(size) {
				t.Fatalf("size %d cut %v: Size = %d", size, cut, s.Size())
			}
			if got := s.sums(); fmt.Sprint(got) != fmt.Sprint(ref) {
				t.Fatalf("size %d cut %v: blocks differ from one write's", size, cut)
			}
			if err := s.Compare(context.Background(), f); err != nil {
				t.Fatalf("size %d cut %v: %v", size, cut, err)
			}
		}
	}
}

// A byte changed in the first, a middle or the last (short) block is found
// and named by its block's offset, whatever the number of readers.
func TestCompareFindsTheChangedBlock(t *testing.T) {
	const size = 7*BlockSize + 4321
	for _, at := range []int{0, BlockSize - 1, 3*BlockSize + 17, 6 * BlockSize, size - 1} {
		for _, procs := range []int{1, 4} {
			t.Run(fmt.Sprintf("at%d/procs%d", at, procs), func(t *testing.T) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				p := content(size)
				s := sumsOf(p, 256<<10)
				p[at] ^= 0x20
				err := s.Compare(context.Background(), writeFile(t, p))
				if !errors.Is(err, ErrDiffers) {
					t.Fatalf("err = %v, want ErrDiffers", err)
				}
				if want := fmt.Sprintf("block at %d:", at/BlockSize*BlockSize); !strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v, want it to name %q", err, want)
				}
			})
		}
	}
}

// A file that is now shorter than what was sent differs; one that grew is
// compared only up to what was sent (the caller checks the size).
func TestCompareSizeChanged(t *testing.T) {
	p := content(3*BlockSize + 99)
	s := sumsOf(p, BlockSize)
	for _, short := range []int{len(p) - 1, 2 * BlockSize, 10, 0} {
		err := s.Compare(context.Background(), writeFile(t, p[:short]))
		if !errors.Is(err, ErrDiffers) || !strings.Contains(err.Error(), "file ends at") {
			t.Fatalf("truncated to %d: err = %v, want ErrDiffers naming the end", short, err)
		}
	}
	if err := s.Compare(context.Background(), writeFile(t, append(p, "more"...))); err != nil {
		t.Fatalf("appended: %v", err)
	}
}

// A read error is returned as such, not as a difference.
func TestCompareReadError(t *testing.T) {
	p := content(2 * BlockSize)
	s := sumsOf(p, BlockSize)
	f := writeFile(t, p)
	f.Close()
	err := s.Compare(context.Background(), f)
	if err == nil || errors.Is(err, ErrDiffers) {
		t.Fatalf("closed file: err = %v, want a read error", err)
	}
}

// A cancelled context stops the comparison with its error.
func TestCompareCancelled(t *testing.T) {
	p := content(4 * BlockSize)
	s := sumsOf(p, BlockSize)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Compare(ctx, writeFile(t, p)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func BenchmarkCompare(b *testing.B) {
	p := content(64 << 20)
	s := sumsOf(p, BlockSize)
	f := writeFile(b, p)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if err := s.Compare(context.Background(), f); err != nil {
			b.Fatal(err)
		}
	}
}
