package faultfs

import (
	"errors"
	"os"
	"os/exec"
	"testing"
)

// Mount mounts a faultfs over backing at a fresh temporary directory for the
// duration of the test and returns it with its mount point. It unmounts in
// the test's cleanup.
//
// Without FUSE (no /dev/fuse, or no fusermount3 when not root) the test is
// skipped with an install hint, or fails when the environment variable
// CI=true, because CI must exercise the fault paths.
func Mount(t testing.TB, backing string, opts Options) (*FS, string) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("faultfs: %v", err)
		}
		t.Skipf("faultfs: %v (install with scripts/install-test-deps.sh or `apt-get install fuse3`)", err)
	}
	mnt := t.TempDir()
	f, err := Start(backing, mnt, opts)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skipf("cannot mount FUSE here: %v", err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	return f, mnt
}

// Available reports why FUSE mounts are impossible on this machine, or nil.
func Available() error {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return errors.New("/dev/fuse is missing (load the fuse module or run the container with --device /dev/fuse)")
	}
	if os.Geteuid() == 0 {
		return nil
	}
	if _, err := exec.LookPath("fusermount3"); err != nil {
		if _, err2 := exec.LookPath("fusermount"); err2 != nil {
			return errors.New("fusermount3 is not installed (Debian/Ubuntu: apt-get install fuse3)")
		}
	}
	return nil
}

// Remount mounts f's backing directory again at f's mount point with f's
// options, after PowerCut (or Close), for the rest of the test. The new
// mount starts with everything in the backing directory durable.
func Remount(t testing.TB, f *FS) *FS {
	t.Helper()
	nf, err := Start(f.backing, f.mountpoint, f.opts)
	if err != nil {
		t.Fatalf("faultfs: remount %s: %v", f.mountpoint, err)
	}
	t.Cleanup(func() {
		if err := nf.Close(); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	return nf
}
