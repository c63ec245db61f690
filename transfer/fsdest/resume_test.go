package fsdest_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/fsdest"
	"github.com/efssync/efssync/transfer/transfertest"
)

// A resumable upload checkpoints its durable prefix; a new Begin with that
// checkpoint continues the same temp file, skipping what it holds, and
// publishes the whole file. An upload for which the file is gone starts
// afresh.
func TestResumableUpload(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, err := fsdest.New("local", root, fsdest.Options{ResumeEvery: 1 << 20, TempTag: "t"})
	if err != nil {
		t.Fatal(err)
	}
	data := transfertest.Content(7, 3<<20+123)
	m := transfer.Meta{Size: int64(len(data)), Mode: 0o640, ModTime: time.Unix(1_700_000_000, 0), UID: -1, GID: -1}
	u, err := d.Begin(ctx, "a/big", m, nil)
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < 2<<20+5000; off += 100_000 { // a crash after about 2 MiB
		if err := u.Write(ctx, int64(off), data[off:off+100_000]); err != nil {
			t.Fatal(err)
		}
	}
	cp := u.Checkpoint()
	if cp == nil || fsdest.Resumed(cp) < 2<<20 || !strings.HasPrefix(filepath.Base(cp.Key), fsdest.PartPrefix+"t-") {
		t.Fatalf("checkpoint after 2 MiB: %+v", cp)
	}
	u2, err := d.Begin(ctx, "a/big", m, cp)
	if err != nil {
		t.Fatal(err)
	}
	if got := u2.Checkpoint(); got == nil || got.Key != cp.Key {
		t.Fatalf("resumed upload writes %+v, want the kept %s", got, cp.Key)
	}
	for off := 0; off < len(data); off += 1 << 20 {
		if err := u2.Write(ctx, int64(off), data[off:min(off+1<<20, len(data))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := u2.Commit(ctx, m); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "a/big"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("resumed file: %v, equal %v", err, bytes.Equal(got, data))
	}
	if left, _ := filepath.Glob(filepath.Join(root, "a", ".efssync-*")); len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}
	// The kept file is gone: Begin starts a fresh one.
	u3, err := d.Begin(ctx, "a/big", m, cp)
	if err != nil {
		t.Fatal(err)
	}
	if err := u3.Write(ctx, 0, data); err != nil {
		t.Fatal(err)
	}
	if err := u3.Commit(ctx, m); err != nil {
		t.Fatalf("fresh upload after a lost temp file: %v", err)
	}
}
