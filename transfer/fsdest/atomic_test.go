package fsdest_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/fsdest"
)

// With Progressive, files named by Atomic still go through a temp file and
// a rename: a manifest is never visible half-written, while a media file
// beside it is written in place.
func TestProgressiveWithAtomicManifests(t *testing.T) {
	root := t.TempDir()
	d, err := fsdest.New("d", root, fsdest.Options{Progressive: true,
		Atomic: func(rel string) bool { return strings.HasSuffix(rel, ".m3u8") }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct {
		rel     string
		inPlace bool
	}{{"live.m4s", true}, {"live.m3u8", false}} {
		if err := os.WriteFile(filepath.Join(root, c.rel), []byte("old version"), 0o644); err != nil {
			t.Fatal(err)
		}
		u, err := d.Begin(ctx, c.rel, transfer.Meta{Mode: 0o644, UID: -1, GID: -1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := u.Write(ctx, 0, []byte("new")); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(root, c.rel))
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]string{true: "new", false: "old version"}[c.inPlace]; string(got) != want {
			t.Errorf("%s before Commit reads %q, want %q", c.rel, got, want)
		}
		if err := u.Commit(ctx, transfer.Meta{Size: 3, Mode: 0o644, UID: -1, GID: -1}); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(filepath.Join(root, c.rel)); string(got) != "new" {
			t.Errorf("%s after Commit reads %q", c.rel, got)
		}
	}
}
