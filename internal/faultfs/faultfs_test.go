package faultfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// sleepRecorder stands in for the real delay so tests can check which
// latency each operation was charged without timing anything.
type sleepRecorder struct {
	mu     sync.Mutex
	delays map[string][]time.Duration
}

func newRecorder() *sleepRecorder {
	return &sleepRecorder{delays: make(map[string][]time.Duration)}
}

func (r *sleepRecorder) sleep(_ context.Context, op string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delays[op] = append(r.delays[op], d)
}

func (r *sleepRecorder) get(op string) []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.delays[op]...)
}

func withRecorder(opts Options) (Options, *sleepRecorder) {
	r := newRecorder()
	opts.Sleep = r.sleep
	opts.CacheTimeout = -1 // every stat reaches the file system
	return opts, r
}

func TestWriteReadThroughMount(t *testing.T) {
	backing := t.TempDir()
	opts, _ := withRecorder(ProfileNFS())
	f, mnt := Mount(t, backing, opts)

	want := bytes.Repeat([]byte("efssync"), 3000)
	if err := os.MkdirAll(filepath.Join(mnt, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(mnt, "a", "b", "f.bin")
	if err := os.WriteFile(p, want, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes, want %d identical bytes", len(got), len(want))
	}
	onDisk, err := os.ReadFile(filepath.Join(backing, "a", "b", "f.bin"))
	if err != nil || !bytes.Equal(onDisk, want) {
		t.Fatalf("backing file differs (err %v)", err)
	}
	if err := os.Rename(p, filepath.Join(mnt, "a", "g.bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("g.bin", filepath.Join(mnt, "a", "link")); err != nil {
		t.Fatal(err)
	}

	c := f.Counts()
	for _, op := range []string{"mkdir", "create", "write", "open", "read", "rename", "symlink", "lookup"} {
		if c[op] < 1 {
			t.Errorf("counter %s = %d, want >= 1 (all: %v)", op, c[op], c)
		}
	}
	if c[CountWriteBytes] != int64(len(want)) {
		t.Errorf("write_bytes = %d, want %d", c[CountWriteBytes], len(want))
	}
	if c[CountReadBytes] < int64(len(want)) {
		t.Errorf("read_bytes = %d, want >= %d", c[CountReadBytes], len(want))
	}

	f.ResetCounts()
	for op, n := range f.Counts() {
		if n != 0 {
			t.Errorf("after reset %s = %d", op, n)
		}
	}
}

func TestLatencyPerClass(t *testing.T) {
	opts, rec := withRecorder(ProfileEFSRegionalGP())
	f, mnt := Mount(t, t.TempDir(), opts)

	p := filepath.Join(mnt, "x")
	if err := os.WriteFile(p, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.ReadFile(p); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}

	const read, write = 250 * time.Microsecond, 2700 * time.Microsecond
	for op, want := range map[string]time.Duration{
		"create": write, "write": write, "flush": write,
		"open": read, "read": read, "lookup": read, "getattr": read,
	} {
		ds := rec.get(op)
		if len(ds) == 0 {
			t.Errorf("no delay recorded for %s", op)
			continue
		}
		for _, d := range ds {
			if d != want {
				t.Errorf("%s delayed %v, want %v", op, d, want)
			}
		}
	}
	var total time.Duration
	rec.mu.Lock()
	for _, ds := range rec.delays {
		for _, d := range ds {
			total += d
		}
	}
	rec.mu.Unlock()
	if got := time.Duration(f.Counts()[CountDelayNanos]); got != total {
		t.Errorf("delay_ns = %v, recorded %v", got, total)
	}
}

func TestCleanFlushIsFree(t *testing.T) {
	opts, rec := withRecorder(ProfileNFS())
	f, mnt := Mount(t, t.TempDir(), opts)
	p := filepath.Join(mnt, "r")
	if err := os.WriteFile(p, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	dirtyFlushes := len(rec.get("flush"))
	if _, err := os.ReadFile(p); err != nil {
		t.Fatal(err)
	}
	if got := len(rec.get("flush")); got != dirtyFlushes {
		t.Errorf("reading added %d delayed flushes, want 0", got-dirtyFlushes)
	}
	if f.Counts()["flush"] <= int64(dirtyFlushes) {
		t.Errorf("clean flush not counted: %v", f.Counts())
	}
}

func TestNoLatencyProfile(t *testing.T) {
	opts, err := Profile("none")
	if err != nil {
		t.Fatal(err)
	}
	opts, rec := withRecorder(opts)
	f, mnt := Mount(t, t.TempDir(), opts)
	if err := os.WriteFile(filepath.Join(mnt, "x"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n := f.Counts()[CountDelayNanos]; n != 0 {
		t.Errorf("delay_ns = %d with no latency", n)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.delays) != 0 {
		t.Errorf("sleeps recorded: %v", rec.delays)
	}
}

func TestQuotaENOSPC(t *testing.T) {
	backing := t.TempDir()
	if err := os.WriteFile(filepath.Join(backing, "old"), make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	f, mnt := Mount(t, backing, Options{})
	if err := f.SetQuota(12 << 10); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "a"), make([]byte, 6<<10), 0o644); err != nil {
		t.Fatalf("write within quota: %v", err)
	}
	err := os.WriteFile(filepath.Join(mnt, "b"), make([]byte, 6<<10), 0o644)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write past quota: got %v, want ENOSPC", err)
	}
	// Freeing space through the mount makes room again.
	if err := os.Remove(filepath.Join(mnt, "old")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "b"), make([]byte, 6<<10), 0o644); err != nil {
		t.Fatalf("write after freeing space: %v", err)
	}
	// Truncation gives space back too.
	if err := os.Truncate(filepath.Join(mnt, "a"), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "c"), make([]byte, 5<<10), 0o644); err != nil {
		t.Fatalf("write after truncate: %v", err)
	}
	if err := f.SetQuota(-1); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "d"), make([]byte, 64<<10), 0o644); err != nil {
		t.Fatalf("write after clearing quota: %v", err)
	}
}

func TestFailWritesEIO(t *testing.T) {
	f, mnt := Mount(t, t.TempDir(), Options{})
	f.FailWrites(syscall.EIO)
	err := os.WriteFile(filepath.Join(mnt, "x"), []byte("data"), 0o644)
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("write with FailWrites: got %v, want EIO", err)
	}
	f.FailWrites(0)
	if err := os.WriteFile(filepath.Join(mnt, "x"), []byte("data"), 0o644); err != nil {
		t.Fatalf("write after clearing: %v", err)
	}
}

func TestFailAfterBytes(t *testing.T) {
	f, mnt := Mount(t, t.TempDir(), Options{})
	f.FailAfter(4096)
	fh, err := os.Create(filepath.Join(mnt, "x"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.Write(make([]byte, 4096)); err != nil {
		t.Fatalf("write within allowance: %v", err)
	}
	if _, err := fh.Write(make([]byte, 1)); !errors.Is(err, syscall.EIO) {
		t.Fatalf("write past allowance: got %v, want EIO", err)
	}
	if err := fh.Sync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("fsync after trip: got %v, want EIO", err)
	}
	f.ClearFaults()
	if _, err := fh.Write([]byte("ok")); err != nil {
		t.Fatalf("write after ClearFaults: %v", err)
	}
	if err := fh.Sync(); err != nil {
		t.Fatalf("fsync after ClearFaults: %v", err)
	}
}

func TestReaddirBatches(t *testing.T) {
	backing := t.TempDir()
	const n = 3*DirBatch + 5
	for i := range n {
		if err := os.WriteFile(filepath.Join(backing, fmt.Sprintf("f%03d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, mnt := Mount(t, backing, Options{CacheTimeout: -1})
	ents, err := os.ReadDir(mnt)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != n {
		t.Fatalf("listed %d entries, want %d", len(ents), n)
	}
	c := f.Counts()
	if c["opendir"] != 1 {
		t.Errorf("opendir = %d, want 1", c["opendir"])
	}
	if c["readdir"] < 4 || c["readdir"] > 6 {
		t.Errorf("readdir = %d, want about %d (one per %d entries)", c["readdir"], n/DirBatch+1, DirBatch)
	}
	if c["lookup"] != 0 {
		t.Errorf("READDIRPLUS charged %d lookups, want 0", c["lookup"])
	}
}

func TestProfileNames(t *testing.T) {
	for _, name := range []string{"nfs", "efs", "none"} {
		if _, err := Profile(name); err != nil {
			t.Errorf("Profile(%q): %v", name, err)
		}
	}
	if _, err := Profile("s3"); err == nil {
		t.Error("Profile(s3) succeeded, want error")
	}
}
