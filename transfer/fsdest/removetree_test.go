package fsdest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/efssync/efssync/internal/treetest"
	"github.com/efssync/efssync/transfer/fsdest"
)

// RemoveTree removes a directory and everything below it, removes a link
// inside it as a link (the link's target is untouched), refuses when more
// entries than allowed would go, and removes nothing for a non-directory.
func TestRemoveTree(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	treetest.Write(t, outside, map[string]string{"precious": "keep"})
	treetest.Write(t, root, map[string]string{"dir/a": "1", "dir/sub/b": "2", "file": "3"})
	if err := os.Symlink(outside, filepath.Join(root, "dir", "link")); err != nil {
		t.Fatal(err)
	}
	d, err := fsdest.New("local", root, fsdest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := d.RemoveTree(ctx, "dir", 4); !errors.Is(err, fsdest.ErrTooMany) {
		t.Fatalf("5 entries with 4 allowed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "dir", "sub", "b")); err != nil {
		t.Fatalf("a refused RemoveTree removed something: %v", err)
	}
	if n, err := d.RemoveTree(ctx, "file", 10); n != 0 || err != nil {
		t.Fatalf("RemoveTree of a file: %d, %v", n, err)
	}
	n, err := d.RemoveTree(ctx, "dir", 5)
	if err != nil || n != 5 {
		t.Fatalf("RemoveTree: %d, %v; want 5 entries", n, err)
	}
	if _, err := os.Lstat(filepath.Join(root, "dir")); !os.IsNotExist(err) {
		t.Fatalf("dir still there: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(outside, "precious")); err != nil || string(b) != "keep" {
		t.Fatalf("the link's target was touched: %q, %v", b, err)
	}
	if err := d.Sync(ctx); err != nil {
		t.Fatalf("Sync after RemoveTree: %v", err)
	}
}

// Readlink reads a published link's target without following it.
func TestReadlink(t *testing.T) {
	root := t.TempDir()
	if err := os.Symlink("../somewhere", filepath.Join(root, "l")); err != nil {
		t.Fatal(err)
	}
	d, err := fsdest.New("local", root, fsdest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := d.Readlink(context.Background(), "l"); err != nil || got != "../somewhere" {
		t.Fatalf("Readlink: %q, %v", got, err)
	}
}
