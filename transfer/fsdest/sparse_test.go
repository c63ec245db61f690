package fsdest_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/fsdest"
)

// sendChunks publishes content in chunks of size n, as the agent does.
func sendChunks(t *testing.T, d *fsdest.Dest, rel string, content []byte, n int) {
	t.Helper()
	ctx := context.Background()
	m := meta(len(content))
	u, err := d.Begin(ctx, rel, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(content); off += n {
		if err := u.Write(ctx, int64(off), content[off:min(off+n, len(content))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := u.Commit(ctx, m); err != nil {
		t.Fatal(err)
	}
}

// A sparse file keeps its holes: all-zero chunks are not written, so a
// 16 MiB file holding 8 KiB of data does not arrive fully allocated.
func TestSparseFileKeepsHoles(t *testing.T) {
	for _, progressive := range []bool{false, true} {
		root := t.TempDir()
		d, err := fsdest.New("local", root, fsdest.Options{Progressive: progressive})
		if err != nil {
			t.Fatal(err)
		}
		content := make([]byte, 16<<20) // ends in a hole, too
		copy(content[5<<20:], bytes.Repeat([]byte("data"), 2048))
		sendChunks(t, d, "sparse.img", content, 1<<20)
		p := filepath.Join(root, "sparse.img")
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("progressive=%v: content differs (%d bytes, %v)", progressive, len(got), err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if used := fi.Sys().(*syscall.Stat_t).Blocks * 512; used > 2<<20 {
			t.Errorf("progressive=%v: %d bytes allocated for 8 KiB of data in a 16 MiB file", progressive, used)
		}
	}
}

// Zeros written over bytes the same upload wrote before are written: only
// ranges never written may stay holes.
func TestZerosOverWrittenBytesAreWritten(t *testing.T) {
	root := t.TempDir()
	d, err := fsdest.New("local", root, fsdest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m := meta(8192)
	u, err := d.Begin(ctx, "f", m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Write(ctx, 0, bytes.Repeat([]byte{1}, 8192)); err != nil {
		t.Fatal(err)
	}
	// A re-send of the first half, which the source now has as zeros.
	if err := u.Write(ctx, 0, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	if err := u.Commit(ctx, m); err != nil {
		t.Fatal(err)
	}
	want := append(make([]byte, 4096), bytes.Repeat([]byte{1}, 4096)...)
	if got, err := os.ReadFile(filepath.Join(root, "f")); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("content after a re-sent zero range differs: %v", err)
	}
	var _ transfer.Upload = u
}
