package send

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zeebo/blake3"

	"github.com/efssync/efssync/internal/treetest"
	"github.com/efssync/efssync/transfer"
)

// partsSource is a ChunkSource over parts of its own, as a restore's
// fetched S3 parts are; it fails with err after failAfter parts when err
// is set, and counts the parts given back.
type partsSource struct {
	memSource
	parts     [][]byte
	next      int
	failAfter int
	err       error
	released  atomic.Int64
}

func newPartsSource(data []byte, part int) *partsSource {
	s := &partsSource{memSource: memSource{Bytes: Bytes{Data: data}}}
	for len(data) > 0 {
		k := min(part, len(data))
		s.parts, data = append(s.parts, data[:k]), data[k:]
	}
	return s
}

func (s *partsSource) NextChunk(context.Context) (Chunk, error) {
	if s.err != nil && s.next == s.failAfter {
		return Chunk{}, s.err
	}
	if s.next == len(s.parts) {
		return Chunk{}, io.EOF
	}
	p := s.parts[s.next]
	s.next++
	return Chunk{Data: p, Release: func() { s.released.Add(1) }}, nil
}

// A ChunkSource's own buffers are written and hashed as they are: the
// file is published whole, the sum is the bytes' BLAKE3, every part is
// given back, and the sender's pooled buffers are never read into.
func TestChunkSourceIsSentFromItsOwnBuffers(t *testing.T) {
	ds, roots := fsDests(t, 1)
	// Parts of several windows, the last one shorter than a window.
	data := make([]byte, 5*window+123)
	for i := range data {
		data[i] = byte(i*7 + i>>9)
	}
	src := newPartsSource(data, 2*window)
	m := transfer.Meta{Size: int64(len(data)), Mode: 0o640, ModTime: time.Unix(1e9, 0)}
	res := newSender(ds, 2).Send(t.Context(), File{Rel: "d/f", Meta: m, Dests: []int{0}}, src)
	if res.Err != nil || len(res.Outs) != 1 || res.Outs[0].Err != nil {
		t.Fatalf("send: %+v", res)
	}
	if res.Sum != blake3.Sum256(data) || res.Size != int64(len(data)) {
		t.Fatalf("sum %x size %d, want the bytes' BLAKE3 and %d", res.Sum, res.Size, len(data))
	}
	if src.reads.Load() != 0 {
		t.Fatalf("the sender copied through Read %d times", src.reads.Load())
	}
	if got := src.released.Load(); got != int64(len(src.parts)) {
		t.Fatalf("%d of %d parts given back", got, len(src.parts))
	}
	got, err := os.ReadFile(filepath.Join(roots[0], "d/f"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("published %d bytes (%v), want the source's %d", len(got), err, len(data))
	}
}

// A ChunkSource that fails midway publishes nothing, leaves no temp file,
// and gets back every part it handed out.
func TestChunkSourceFailingMidwayPublishesNothing(t *testing.T) {
	ds, roots := fsDests(t, 1)
	src := newPartsSource(bytes.Repeat([]byte("z"), 5*chunkSize), chunkSize)
	src.failAfter, src.err = 3, errors.New("connection reset")
	m := transfer.Meta{Size: 5 * chunkSize, Mode: 0o644, ModTime: time.Unix(1e9, 0)}
	res := newSender(ds, 2).Send(t.Context(), File{Rel: "f", Meta: m, Dests: []int{0}}, src)
	if !errors.Is(res.Err, src.err) || res.Outs != nil {
		t.Fatalf("send of a failing source: %+v", res)
	}
	if src.released.Load() != 3 {
		t.Fatalf("%d of 3 parts given back", src.released.Load())
	}
	if _, err := os.Stat(filepath.Join(roots[0], "f")); err == nil {
		t.Fatal("published")
	}
	if left := treetest.Leftovers(t, roots[0]); len(left) > 0 {
		t.Fatalf("temp files left: %v", left)
	}
}
