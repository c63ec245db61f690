package walk

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// OpenNoSymlinks refuses a symlink anywhere on the path, and its fallback
// for old kernels at least the last component.
func TestOpenNoSymlinks(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "real", "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "dirlink")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "real", "f"), filepath.Join(dir, "real", "filelink")); err != nil {
		t.Fatal(err)
	}

	fd, err := OpenNoSymlinks(filepath.Join(dir, "real", "f"), unix.O_RDONLY)
	if err != nil {
		t.Fatalf("plain path: %v", err)
	}
	unix.Close(fd)
	for _, p := range []string{filepath.Join(dir, "dirlink", "f"), filepath.Join(dir, "real", "filelink")} {
		if fd, err := OpenNoSymlinks(p, unix.O_RDONLY); !errors.Is(err, unix.ELOOP) {
			unix.Close(fd)
			t.Errorf("OpenNoSymlinks(%s) = %v, want ELOOP", p, err)
		}
	}
	if fd, err := OpenNoFollow(filepath.Join(dir, "real", "filelink"), unix.O_RDONLY); !errors.Is(err, unix.ELOOP) {
		unix.Close(fd)
		t.Errorf("OpenNoFollow on a symlink = %v, want ELOOP", err)
	}
}
