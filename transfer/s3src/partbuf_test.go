package s3src

import (
	"bytes"
	"testing"
)

// TestPartBufs: a PartSize unit gets a full-size, writable buffer that is
// reused after putBuf; returning more buffers than are kept unmaps the
// extra ones; a shorter unit gets a kept buffer of the smallest class that
// holds it, and one below hugePage a heap slice.
func TestPartBufs(t *testing.T) {
	const size = 4 << 20
	s := &Source{opts: Options{PartSize: size}}
	s.parts = newPartClasses(s, size, 1)

	a, pa := s.partBuf(size)
	b, pb := s.partBuf(size)
	if len(a) != size || len(b) != size || pa == nil || pb == nil {
		t.Fatalf("got buffers of %d and %d bytes (kept: %v, %v), want %d", len(a), len(b), pa != nil, pb != nil, size)
	}
	a[0], a[size-1] = 1, 2
	copy(b, bytes.Repeat([]byte{7}, size))
	if b[size-1] != 7 || a[size-1] != 2 {
		t.Fatal("two buffers handed out share memory")
	}
	s.putBuf(pa)
	s.putBuf(pb) // one more than is kept: unmapped
	c, pc := s.partBuf(size)
	if pc != pa || c[0] != 1 {
		t.Fatal("a returned buffer is not reused")
	}
	s.putBuf(pc)

	for _, c := range []struct {
		n, class int
	}{{size - 1, size}, {size/2 + 1, size}, {size / 2, size / 2}, {hugePage - 1, 0}} {
		d, pd := s.partBuf(int64(c.n))
		switch {
		case len(d) != c.n:
			t.Errorf("a unit of %d bytes got %d", c.n, len(d))
		case c.class == 0 && pd != nil, c.class != 0 && (pd == nil || len(*pd) != c.class):
			t.Errorf("a unit of %d bytes got a kept buffer %v, want one of %d bytes (0: none)", c.n, pd != nil, c.class)
		}
		s.putBuf(pd)
	}
}
