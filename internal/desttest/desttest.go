// Package desttest gives tests real destinations to work on: a mounted-file
// system destination on a fresh temp directory. One helper instead of a copy
// in every decorator's tests.
package desttest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/efssync/efssync/transfer/fsdest"
)

// NewFS returns an fs destination named "fs" on a new temp directory.
func NewFS(t testing.TB) *fsdest.Dest {
	t.Helper()
	d, _ := NewFSNamed(t, "fs")
	return d
}

// NewFSNamed returns an fs destination named name on a new temp directory,
// and that directory.
func NewFSNamed(t testing.TB, name string) (*fsdest.Dest, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), name)
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := fsdest.New(name, root, fsdest.Options{})
	if err != nil {
		t.Fatal(fmt.Errorf("fs destination at %s: %w", root, err))
	}
	return d, root
}
