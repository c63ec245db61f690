package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/zeebo/blake3"
)

const (
	chunkSize = 1 << 20
	blockSize = 4 << 10
)

// bigContent generates the large file deterministically: one random MiB
// with each 4 KiB block stamped with its absolute offset, so that every
// block of the file is distinct and any block can be recomputed to check a
// sample of the replica without keeping the file in memory.
type bigContent struct {
	base []byte
	size int64
}

func newBigContent(size int64) *bigContent {
	base := make([]byte, chunkSize)
	r := rand.NewChaCha8([32]byte{'l', 'i', 'v', 'e'})
	_, _ = r.Read(base)
	return &bigContent{base: base, size: size}
}

// chunk fills buf with the MiB starting at chunk index i.
func (c *bigContent) chunk(i int64, buf []byte) {
	copy(buf, c.base)
	for b := 0; b < chunkSize; b += blockSize {
		binary.LittleEndian.PutUint64(buf[b:], uint64(i*chunkSize+int64(b)))
	}
}

// block returns the 4 KiB block at off (a multiple of blockSize).
func (c *bigContent) block(off int64) []byte {
	b := make([]byte, blockSize)
	in := off % chunkSize
	copy(b, c.base[in:in+blockSize])
	binary.LittleEndian.PutUint64(b, uint64(off))
	return b
}

// sampleOffsets are the blocks checked when a replica reaches full size:
// evenly spread, plus the first and the last.
func (c *bigContent) sampleOffsets(n int) []int64 {
	blocks := c.size / blockSize
	offs := []int64{0, (blocks - 1) * blockSize}
	for i := 1; i < n-1; i++ {
		offs = append(offs, (blocks*int64(i)/int64(n-1))*blockSize)
	}
	return offs
}

// complete reports whether path holds the whole file: full size and every
// sampled block equal.
func (c *bigContent) complete(path string, offs []int64) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() != c.size {
		return false
	}
	buf := make([]byte, blockSize)
	for _, off := range offs {
		if _, err := f.ReadAt(buf, off); err != nil || !bytes.Equal(buf, c.block(off)) {
			return false
		}
	}
	return true
}

func fileSum(path string) ([32]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return [32]byte{}, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	h := blake3.New()
	if _, err := io.CopyBuffer(h, f, make([]byte, 4<<20)); err != nil {
		return [32]byte{}, fmt.Errorf("hash %s: %w", path, err)
	}
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s, nil
}

// runBig writes rel under src at rate bytes/s, closes it, and measures for
// each replica the time from close() until it holds the whole file, waiting
// at most timeout after the close.
func runBig(ctx context.Context, src, rel string, size int64, rate float64, dests []*dest, timeout time.Duration, logf func(string, ...any)) ([]BigResult, error) {
	c := newBigContent(size)
	offs := c.sampleOffsets(64)
	path := filepath.Join(src, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("big file dir: %w", err)
	}

	// closeAt is written once, before done is closed, and read only after.
	var closeAt time.Time
	done := make(chan struct{})
	results := make([]BigResult, len(dests))
	var wg sync.WaitGroup
	for i, d := range dests {
		results[i] = BigResult{Tool: d.tool, Dest: d.kind, LagMs: -1}
		wg.Add(1)
		go func() {
			defer wg.Done()
			target := filepath.Join(d.read, rel)
			closedCh := done
			var deadline <-chan time.Time
			tick := time.NewTicker(2 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					results[i].Note = "cancelled"
					return
				case <-closedCh:
					closedCh = nil
					deadline = time.After(time.Until(closeAt.Add(timeout)))
				case <-deadline:
					results[i].Note = fmt.Sprintf("not complete %s after close", timeout)
					return
				case <-tick.C:
				}
				if c.complete(target, offs) {
					now := time.Now()
					<-done // complete before close is possible; the lag is then negative
					results[i].LagMs = ms(now.Sub(closeAt))
					return
				}
			}
		}()
	}

	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	buf := make([]byte, chunkSize)
	start := time.Now()
	per := time.Duration(float64(chunkSize) / rate * float64(time.Second))
	for i := int64(0); i*chunkSize < size; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * per)))
		c.chunk(i, buf)
		n := int64(chunkSize)
		if rem := size - i*chunkSize; rem < n {
			n = rem
		}
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
	}
	closeAt = time.Now()
	close(done)
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("close %s: %w", path, err)
	}
	logf("big file: wrote %d MiB in %s, closed", size>>20, closeAt.Sub(start).Round(time.Millisecond))
	wg.Wait()

	want, err := fileSum(path)
	if err != nil {
		return nil, err
	}
	for i, d := range dests {
		got, err := fileSum(filepath.Join(d.read, rel))
		results[i].Identical = err == nil && got == want
		if err != nil && results[i].Note == "" {
			results[i].Note = err.Error()
		}
	}
	return results, nil
}
