package s3src

import (
	"bytes"
	"testing"
)

// TestPartBufs: a PartSize unit gets a full-size, writable buffer that is
// reused after putBuf; other sizes come from the heap and are not kept;
// returning more buffers than are kept unmaps the extra ones.
func TestPartBufs(t *testing.T) {
	const size = 4 << 20
	s := &Source{opts: Options{PartSize: size}}
	s.parts = newPartBufs(s, size, 1)

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

	d, pd := s.partBuf(size - 1)
	if len(d) != size-1 || pd != nil {
		t.Fatalf("a short unit got %d bytes, kept %v; want %d from the heap", len(d), pd != nil, size-1)
	}
	s.putBuf(pd) // nil: nothing to give back
}
