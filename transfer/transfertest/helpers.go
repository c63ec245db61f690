package transfertest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/efssync/efssync/transfer"
	"github.com/zeebo/blake3"
)

// Content returns n deterministic pseudo-random bytes for seed, so failures
// reproduce and different files differ.
func Content(seed uint64, n int) []byte {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}

// Meta returns the metadata the suite uploads data with: mode 0640, a fixed
// mtime with nanoseconds, unknown owner, and (when withHash) its BLAKE3.
func Meta(data []byte, withHash bool) transfer.Meta {
	m := transfer.Meta{
		Size:    int64(len(data)),
		Mode:    0o640,
		ModTime: modTime,
		UID:     -1,
		GID:     -1,
	}
	if withHash {
		sum := blake3.Sum256(data)
		m.Hash = sum[:]
	}
	return m
}

// Upload writes data to rel in chunk-sized writes, in order, and commits it.
func Upload(t *testing.T, d transfer.Destination, rel string, data []byte, chunk int) {
	t.Helper()
	u := begin(t, d, rel, data)
	writeAll(t, u, rel, data, chunk)
	if err := u.Commit(t.Context(), Meta(data, true)); err != nil {
		t.Fatalf("Commit %q: %v", rel, err)
	}
}

// CheckContent fails t unless rel is published with exactly want: Stat's
// size always, and the bytes when the destination is a transfer.Opener.
func CheckContent(t *testing.T, d transfer.Destination, rel string, want []byte) {
	t.Helper()
	m, err := d.Stat(t.Context(), rel)
	if err != nil {
		t.Fatalf("Stat %q: %v", rel, err)
	}
	if m.Size != int64(len(want)) {
		t.Fatalf("Stat %q: size %d, want %d", rel, m.Size, len(want))
	}
	if m.Mode.IsDir() || m.Mode&fs.ModeSymlink != 0 {
		t.Fatalf("Stat %q: mode %v, want a regular file", rel, m.Mode)
	}
	o, ok := transfer.As[transfer.Opener](d)
	if !ok {
		return
	}
	got := readAll(t, o, rel)
	compareBytes(t, rel, got, want)
}

// CheckMissing fails t unless Stat reports rel as not existing.
func CheckMissing(t *testing.T, d transfer.Destination, rel string) {
	t.Helper()
	m, err := d.Stat(t.Context(), rel)
	if err == nil {
		t.Fatalf("Stat %q: exists (size %d), want fs.ErrNotExist", rel, m.Size)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat %q: %v, want an error wrapping fs.ErrNotExist", rel, err)
	}
}

func begin(t *testing.T, d transfer.Destination, rel string, data []byte) transfer.Upload {
	t.Helper()
	m := Meta(data, false)
	u, err := d.Begin(t.Context(), rel, m, nil)
	if err != nil {
		t.Fatalf("Begin %q: %v", rel, err)
	}
	if u == nil {
		t.Fatalf("Begin %q: nil Upload and nil error", rel)
	}
	return u
}

func writeAll(t *testing.T, u transfer.Upload, rel string, data []byte, chunk int) {
	t.Helper()
	for off := 0; off < len(data); off += chunk {
		end := min(off+chunk, len(data))
		if err := u.Write(t.Context(), int64(off), data[off:end]); err != nil {
			t.Fatalf("Write %q at %d (%d bytes): %v", rel, off, end-off, err)
		}
	}
}

func readAll(t *testing.T, o transfer.Opener, rel string) []byte {
	t.Helper()
	r, err := o.Open(t.Context(), rel)
	if err != nil {
		t.Fatalf("Open %q: %v", rel, err)
	}
	got, err := io.ReadAll(r)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("reading %q: %v", rel, err)
	}
	return got
}

// compareBytes reports the first difference instead of dumping megabytes.
func compareBytes(t *testing.T, rel string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	n := min(len(got), len(want))
	i := 0
	for i < n && got[i] == want[i] {
		i++
	}
	t.Fatalf("content of %q: %d bytes, want %d; first difference at offset %d", rel, len(got), len(want), i)
}

// listFiles returns the non-directory entries a Lister reports, with sizes.
func listFiles(t *testing.T, l transfer.Lister) map[string]int64 {
	t.Helper()
	var mu sync.Mutex // List may call fn concurrently; the contract does not say
	got := map[string]int64{}
	err := l.List(t.Context(), func(rel string, m transfer.Meta) error {
		if m.Mode.IsDir() {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		if _, dup := got[rel]; dup {
			return fmt.Errorf("%q listed twice", rel)
		}
		got[rel] = m.Size
		return nil
	})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return got
}

// checkList fails t unless a Lister (when d is one) reports exactly want.
func checkList(t *testing.T, d transfer.Destination, want map[string]int64) {
	t.Helper()
	l, ok := transfer.As[transfer.Lister](d)
	if !ok {
		return
	}
	got := listFiles(t, l)
	var problems []string
	for rel, size := range want {
		gs, ok := got[rel]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("missing %q", rel))
		case gs != size:
			problems = append(problems, fmt.Sprintf("%q has size %d, want %d", rel, gs, size))
		}
	}
	for rel := range got {
		if _, ok := want[rel]; !ok {
			problems = append(problems, fmt.Sprintf("unexpected %q", rel))
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		t.Fatalf("List: %s", strings.Join(problems, "; "))
	}
}

// sameTime accepts got when it is want at some precision from nanoseconds to
// seconds, truncated or rounded: destinations keep what they can.
func sameTime(got, want time.Time) bool {
	for _, p := range []time.Duration{time.Nanosecond, time.Microsecond, time.Millisecond, time.Second} {
		if got.Equal(want.Truncate(p)) || got.Equal(want.Round(p)) {
			return true
		}
	}
	return false
}

// need returns d's ability T, found through transfer.As, and skips the test
// when d lacks it: the suite tests optional abilities only where present.
func need[T any](t *testing.T, d transfer.Destination) T {
	t.Helper()
	v, ok := transfer.As[T](d)
	if !ok {
		t.Skip("not a " + reflect.TypeFor[T]().String())
	}
	return v
}
