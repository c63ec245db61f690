package liveorder

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/fsdest"
)

// Through a real in-place destination, the gate learns each acknowledged
// prefix of a growing file, and only then does a byte range count as there.
func TestProgressReportsInPlaceBytes(t *testing.T) {
	root := t.TempDir()
	d, err := fsdest.New("replica", root, fsdest.Options{Progressive: true})
	if err != nil {
		t.Fatal(err)
	}
	var g Gate
	g.MarkComplete("live.m4s") // an earlier version, about to be started over
	pd := Progress(d, g.MarkLength)
	if _, ok := transfer.As[*fsdest.Dest](pd); !ok {
		t.Fatal("the wrapper hides the inner destination from As")
	}
	ctx := context.Background()
	u, err := pd.Begin(ctx, "live.m4s", transfer.Meta{Mode: 0o644}, nil)
	if err != nil {
		t.Fatal(err)
	}
	need := []Ref{{Path: "live.m4s", End: 300}}
	if len(g.Missing(need)) != 1 || g.IsComplete("live.m4s") {
		t.Fatal("a restarted file still counts")
	}
	for off := int64(0); off < 300; off += 100 {
		if len(g.Missing(need)) != 1 {
			t.Fatalf("range counted at %d bytes", off)
		}
		if err := u.Write(ctx, off, bytes.Repeat([]byte{byte(off/100 + 1)}, 100)); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(root, "live.m4s"))
		if err != nil || fi.Size() != off+100 {
			t.Fatalf("in place after write: %v, %v", fi, err)
		}
	}
	if miss := g.Missing(need); len(miss) != 0 {
		t.Fatalf("300 bytes written, Missing = %v", miss)
	}
	// A trailing all-zero chunk may stay a hole beyond the file's size
	// until Commit: it does not count.
	if err := u.Write(ctx, 300, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	if miss := g.Missing([]Ref{{Path: "live.m4s", End: 400}}); len(miss) != 1 {
		t.Fatal("a trailing hole counted as bytes present")
	}
	if err := u.Abort(ctx); err != nil {
		t.Fatal(err)
	}
}
