package agent

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// openNoSymlinks refuses a symlink anywhere on the path, and its fallback
// for old kernels at least the last component.
func TestOpenNoSymlinks(t *testing.T) {
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "real"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "real", "f"), []byte("x"), 0o644))
	must(t, os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "dirlink")))
	must(t, os.Symlink(filepath.Join(dir, "real", "f"), filepath.Join(dir, "real", "filelink")))

	fd, err := openNoSymlinks(filepath.Join(dir, "real", "f"), unix.O_RDONLY)
	if err != nil {
		t.Fatalf("plain path: %v", err)
	}
	unix.Close(fd)
	for _, p := range []string{filepath.Join(dir, "dirlink", "f"), filepath.Join(dir, "real", "filelink")} {
		if fd, err := openNoSymlinks(p, unix.O_RDONLY); !errors.Is(err, unix.ELOOP) {
			unix.Close(fd)
			t.Errorf("openNoSymlinks(%s) = %v, want ELOOP", p, err)
		}
	}
	if fd, err := openNoFollow(filepath.Join(dir, "real", "filelink"), unix.O_RDONLY); !errors.Is(err, unix.ELOOP) {
		unix.Close(fd)
		t.Errorf("openNoFollow on a symlink = %v, want ELOOP", err)
	}
}
