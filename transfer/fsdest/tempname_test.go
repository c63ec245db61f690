package fsdest_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/fsdest"
)

// Only names of exactly the temp-file shape are hidden from List and
// removed by Cleanup. A replicated file that merely starts with the
// prefix is listed (so mirror delete can remove it) and never cleaned up.
func TestTempNameRuleIsExact(t *testing.T) {
	root := t.TempDir()
	names := map[string]bool{ // name: is a temp file
		".efssync-tmp-t1-0123456789abcdef":       true,
		".efssync-tmp-0ther000-fedcba9876543210": true,
		".efssync-tmp-0123456789abcdef":          true,
		".efssync-tmp-notes.txt":                 false,
		".efssync-tmp-t1-report":                 false,
		".efssync-tmp-t1-0123456789ABCDEF":       false,
		".efssync-tmp-t1-0123456789abcdef.mp4":   false,
		"plain":                                  false,
	}
	for n := range names {
		if err := os.WriteFile(filepath.Join(root, n), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := fsdest.IsTempName(n); got != names[n] {
			t.Errorf("IsTempName(%q) = %v, want %v", n, got, names[n])
		}
	}
	d, err := fsdest.New("local", root, fsdest.Options{TempTag: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	if err := d.List(context.Background(), func(rel string, _ transfer.Meta) error {
		listed = append(listed, rel)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for n, tmp := range names {
		if slices.Contains(listed, n) == tmp {
			t.Errorf("List: %q listed=%v, want %v", n, !tmp, tmp)
		}
	}
	if n, err := d.Cleanup(context.Background(), nil); err != nil || n != 1 {
		t.Errorf("Cleanup removed %d, %v; want 1 (this agent's only temp file)", n, err)
	}
	for n := range names {
		_, err := os.Stat(filepath.Join(root, n))
		if removed := err != nil; removed != (n == ".efssync-tmp-t1-0123456789abcdef") {
			t.Errorf("after Cleanup %q removed=%v", n, removed)
		}
	}
}
