package send

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/efssync/efssync/internal/desttest"
	"github.com/efssync/efssync/internal/treetest"
	"github.com/efssync/efssync/transfer"
)

// memSource is Bytes that counts its reads and may fail its confirmation.
type memSource struct {
	Bytes
	reads   atomic.Int64
	confirm error
}

func (s *memSource) Read(ctx context.Context, p []byte) (int, error) {
	n, err := s.Bytes.Read(ctx, p)
	if n > 0 {
		s.reads.Add(1)
	}
	return n, err
}

func (s *memSource) Confirm(context.Context, int64, [32]byte) error { return s.confirm }

// gated holds every Write of its uploads until release is closed.
type gated struct {
	transfer.Destination
	release chan struct{}
	writes  atomic.Int64
}

func (g *gated) Begin(ctx context.Context, rel string, m transfer.Meta, cp *transfer.Checkpoint) (transfer.Upload, error) {
	u, err := g.Destination.Begin(ctx, rel, m, cp)
	return gatedUpload{u, g}, err
}

type gatedUpload struct {
	transfer.Upload
	g *gated
}

func (u gatedUpload) Write(ctx context.Context, off int64, p []byte) error {
	<-u.g.release
	u.g.writes.Add(1)
	return u.Upload.Write(ctx, off, p)
}

func fsDests(t *testing.T, n int) ([]Dest, []string) {
	t.Helper()
	var ds []Dest
	var roots []string
	for i := range n {
		d, root := desttest.NewFSNamed(t, fmt.Sprintf("d%d", i))
		ds = append(ds, Dest{Name: d.Name(), D: d})
		roots = append(roots, root)
	}
	return ds, roots
}

const chunkSize = 4 << 10

func newSender(ds []Dest, queue int) *Sender {
	return New(ds, Options{Pool: transfer.NewBufferPool(chunkSize), Queue: queue, Verify: VerifyTransferred})
}

// A slow destination holds the reader, and so a fast destination, back by
// at most its queue: the fast one gets every chunkSize read while the slow one
// is stuck in its first write, and the reader stops Queue+2 chunks in.
func TestSlowDestinationHoldsBackAtMostItsQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ds, roots := fsDests(t, 2)
		slow := &gated{Destination: ds[1].D, release: make(chan struct{})}
		ds[1].D = slow
		const queue = 3
		s := newSender(ds, queue)
		src := &memSource{Bytes: Bytes{Data: bytes.Repeat([]byte("0123456789abcdef"), 20*chunkSize/16)}}
		done := make(chan Result, 1)
		go func() {
			done <- s.Send(t.Context(), File{Rel: "f", Meta: transfer.Meta{Size: int64(len(src.Data)), Mode: 0o644, ModTime: time.Unix(1e9, 0)}, Dests: []int{0, 1}}, src)
		}()
		synctest.Wait()
		// One chunkSize in the slow writer, queue chunks in its queue, one in
		// the reader's hand waiting for room.
		if got := src.reads.Load(); got != queue+2 {
			t.Fatalf("reader read %d chunks while the slow destination was stuck, want %d", got, queue+2)
		}
		if slow.writes.Load() != 0 {
			t.Fatal("the gate let a write through")
		}
		close(slow.release)
		res := <-done
		if res.Err != nil || len(res.Outs) != 2 || res.Outs[0].Err != nil || res.Outs[1].Err != nil {
			t.Fatalf("send: %+v", res)
		}
		for _, r := range roots {
			got, err := os.ReadFile(filepath.Join(r, "f"))
			if err != nil || !bytes.Equal(got, src.Data) {
				t.Fatalf("%s: %d bytes, %v", r, len(got), err)
			}
		}
	})
}

// A source that fails its confirmation publishes nothing anywhere and
// leaves no temp file.
func TestUnconfirmedSourceIsNotPublished(t *testing.T) {
	for _, n := range []int{1, 2} {
		t.Run(fmt.Sprint(n, " destinations"), func(t *testing.T) {
			ds, roots := fsDests(t, n)
			src := &memSource{Bytes: Bytes{Data: bytes.Repeat([]byte("x"), 3*chunkSize)}, confirm: fmt.Errorf("rewritten: %w", ErrChanged)}
			idx := []int{0, 1}[:n]
			res := newSender(ds, 2).Send(t.Context(), File{Rel: "f", Meta: transfer.Meta{Size: 3 * chunkSize, Mode: 0o644, ModTime: time.Unix(1e9, 0)}, Dests: idx}, src)
			if res.Err == nil || res.Outs != nil {
				t.Fatalf("send of an unconfirmed source: %+v", res)
			}
			for _, r := range roots {
				if _, err := os.Stat(filepath.Join(r, "f")); err == nil {
					t.Fatal("published")
				}
				if left := treetest.Leftovers(t, r); len(left) > 0 {
					t.Fatalf("temp files left: %v", left)
				}
			}
		})
	}
}

func crc(p []byte) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], crc32.Checksum(p, castagnoli))
	return base64.StdEncoding.EncodeToString(b[:])
}

func TestCheckpointIdentity(t *testing.T) {
	mt := time.Unix(100, 0)
	id := Identity{Dev: 1, Ino: 2, Size: 30, MTime: mt}
	cp := &transfer.Checkpoint{UploadID: "u", PartSize: 10, Parts: []transfer.Part{{Number: 1, Size: 10}, {Number: 2, Size: 10}}}
	done, err := EncodeCheckpoint(id, false, cp)
	if err != nil {
		t.Fatal(err)
	}
	growing, _ := EncodeCheckpoint(id, true, cp)
	for _, c := range []struct {
		name  string
		data  []byte
		now   Identity
		stale bool
	}{
		{"same finished file", done, id, false},
		{"finished file grew", done, Identity{Dev: 1, Ino: 2, Size: 31, MTime: mt}, true},
		{"finished file touched", done, Identity{Dev: 1, Ino: 2, Size: 30, MTime: mt.Add(time.Second)}, true},
		{"growing file grew", growing, Identity{Dev: 1, Ino: 2, Size: 50, MTime: mt.Add(time.Second)}, false},
		{"growing file below its parts", growing, Identity{Dev: 1, Ino: 2, Size: 19}, true},
		{"another inode", growing, Identity{Dev: 1, Ino: 3, Size: 50}, true},
		{"garbage", []byte("{"), id, true},
	} {
		if got := Stale(c.data, c.now); got != c.stale {
			t.Errorf("%s: Stale = %v, want %v", c.name, got, c.stale)
		}
	}
	if _, _, err := DecodeCheckpoint([]byte("{}")); err == nil {
		t.Error("a checkpoint without upload state decoded")
	}
}

func TestPartsMatchTheSourceBytes(t *testing.T) {
	data := []byte("aaaaaaaaaabbbbbbbbbbcc")
	cp := &transfer.Checkpoint{PartSize: 10, Parts: []transfer.Part{
		{Number: 1, Size: 10, Checksum: crc(data[:10])}, {Number: 2, Size: 10, Checksum: crc(data[10:20])}}}
	if !partsMatch(bytes.NewReader(data), cp) {
		t.Fatal("parts of the same bytes do not match")
	}
	changed := bytes.Clone(data)
	changed[12] = 'X'
	if partsMatch(bytes.NewReader(changed), cp) {
		t.Fatal("a rewritten part matched")
	}
	if partsMatch(bytes.NewReader(data[:15]), cp) {
		t.Fatal("a source shorter than its parts matched")
	}
	cp.Parts[0].Checksum = ""
	if partsMatch(bytes.NewReader(data), cp) {
		t.Fatal("a part without checksum matched")
	}
}

// With no destination left (all down), the source is still read and
// hashed, and every buffer goes back to its pool.
func TestSendWithoutDestinations(t *testing.T) {
	src := &memSource{Bytes: Bytes{Data: bytes.Repeat([]byte("y"), 5*chunkSize)}}
	res := newSender(nil, 2).Send(t.Context(), File{Rel: "f", Meta: transfer.Meta{Size: 5 * chunkSize}}, src)
	if res.Err != nil || res.Size != 5*chunkSize || len(res.Outs) != 0 {
		t.Fatalf("send: %+v", res)
	}
}

// A growing file starts small (a recording is empty when it is found), so
// its start size must not choose the small buffers: it is read in full
// chunks, one destination write each. A finished small file keeps the
// small buffers.
func TestGrowingFileGetsFullChunks(t *testing.T) {
	const small = chunkSize / 4
	for _, c := range []struct {
		growing bool
		reads   int64
	}{{true, 4}, {false, 16}} {
		t.Run(fmt.Sprint("growing=", c.growing), func(t *testing.T) {
			ds, _ := fsDests(t, 1)
			s := New(ds, Options{Pool: transfer.NewBufferPool(chunkSize), Small: transfer.NewBufferPool(small), SmallFile: chunkSize})
			src := &memSource{Bytes: Bytes{Data: bytes.Repeat([]byte("z"), 4*chunkSize)}}
			res := s.Send(t.Context(), File{Rel: "f", Meta: transfer.Meta{Size: 0, Mode: 0o644}, Dests: []int{0}, Growing: c.growing}, src)
			if res.Err != nil || res.Size != 4*chunkSize {
				t.Fatalf("send: %+v", res)
			}
			if got := src.reads.Load(); got != c.reads {
				t.Fatalf("read in %d chunks, want %d", got, c.reads)
			}
		})
	}
}
