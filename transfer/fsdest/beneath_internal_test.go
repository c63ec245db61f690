package fsdest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// The component walk used where the kernel lacks openat2 refuses the same
// paths openat2 does: a link deep in the path, a link to "..", an
// absolute link, and a link as the last component.
func TestWalkBeneathRefusesSymlinks(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	for _, dir := range []string{"root/a/b", "victim"} {
		if err := os.MkdirAll(filepath.Join(base, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"victim/f", "root/a/b/f"} {
		if err := os.WriteFile(filepath.Join(base, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"root/a/deep": filepath.Join(base, "victim"),
		"root/up":     "..",
		"root/abs":    "/",
		"root/a/last": filepath.Join(base, "victim", "f"),
	}
	for l, target := range links {
		if err := os.Symlink(target, filepath.Join(base, l)); err != nil {
			t.Fatal(err)
		}
	}
	rootFD, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(rootFD)
	for _, open := range []struct {
		name string
		fn   func(int, string, int, uint32) (int, error)
	}{{"openat2", openBeneath}, {"component walk", walkBeneath}} {
		for _, rel := range []string{"a/deep/f", "up/victim/f", "abs/etc/passwd", "a/last"} {
			for _, flags := range []int{unix.O_RDONLY, unix.O_PATH | unix.O_DIRECTORY, unix.O_WRONLY} {
				fd, err := open.fn(rootFD, rel, flags, 0)
				if err == nil {
					unix.Close(fd)
					t.Errorf("%s: %s (flags %#x) was opened through a symlink", open.name, rel, flags)
				} else if !errors.Is(err, ErrSymlinkInPath) {
					t.Errorf("%s: %s: %v, want ErrSymlinkInPath", open.name, rel, err)
				}
			}
		}
		fd, err := open.fn(rootFD, "a/b/f", unix.O_RDONLY, 0)
		if err != nil {
			t.Errorf("%s: a/b/f: %v", open.name, err)
		} else {
			unix.Close(fd)
		}
		fd, err = open.fn(rootFD, "a/b/missing", unix.O_RDONLY, 0)
		if !errors.Is(err, unix.ENOENT) {
			t.Errorf("%s: a/b/missing: %v, want ENOENT", open.name, err)
		}
		if err == nil {
			unix.Close(fd)
		}
	}
}
