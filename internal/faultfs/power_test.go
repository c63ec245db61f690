package faultfs

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// powerMount mounts a power-loss faultfs over a backing dir in memory
// (/dev/shm when there is one) that already holds old.txt, durable.
func powerMount(t *testing.T) (*FS, string) {
	t.Helper()
	base := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		base = "/dev/shm"
	}
	backing, err := os.MkdirTemp(base, "faultfs-power-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(backing) })
	if err := os.WriteFile(filepath.Join(backing, "old.txt"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	return Mount(t, backing, Options{PowerLoss: true, CacheTimeout: -1})
}

// writeFile creates p with data, fsyncing it when sync is set.
func writeFile(t *testing.T, p, data string, sync bool) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func syncDir(t *testing.T, dir string) {
	t.Helper()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
}

// cut cuts the power and mounts again, returning the new mount.
func cut(t *testing.T, f *FS) *FS {
	t.Helper()
	if err := f.PowerCut(); err != nil {
		t.Fatal(err)
	}
	return Remount(t, f)
}

// content reads p; "<missing>" when it does not exist.
func content(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return "<missing>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPowerLossSemantics(t *testing.T) {
	cases := []struct {
		name string
		do   func(t *testing.T, mnt string)
		want map[string]string
	}{
		{"unsynced data is lost, its durable name stays", func(t *testing.T, mnt string) {
			writeFile(t, filepath.Join(mnt, "a"), "data", false)
			syncDir(t, mnt)
		}, map[string]string{"a": "", "old.txt": "old"}},
		{"a synced file without a synced directory entry is gone", func(t *testing.T, mnt string) {
			writeFile(t, filepath.Join(mnt, "a"), "data", true)
		}, map[string]string{"a": "<missing>"}},
		{"file and directory synced: kept", func(t *testing.T, mnt string) {
			writeFile(t, filepath.Join(mnt, "a"), "data", true)
			syncDir(t, mnt)
		}, map[string]string{"a": "data"}},
		{"rename is not durable until the directory is synced", func(t *testing.T, mnt string) {
			writeFile(t, filepath.Join(mnt, "tmp"), "new", true)
			if err := os.Rename(filepath.Join(mnt, "tmp"), filepath.Join(mnt, "old.txt")); err != nil {
				t.Fatal(err)
			}
		}, map[string]string{"old.txt": "old", "tmp": "<missing>"}},
		{"rename then directory sync: durable", func(t *testing.T, mnt string) {
			writeFile(t, filepath.Join(mnt, "tmp"), "new", true)
			if err := os.Rename(filepath.Join(mnt, "tmp"), filepath.Join(mnt, "old.txt")); err != nil {
				t.Fatal(err)
			}
			syncDir(t, mnt)
		}, map[string]string{"old.txt": "new", "tmp": "<missing>"}},
		{"rename of an unsynced file, directory synced: the name holds an empty file", func(t *testing.T, mnt string) {
			writeFile(t, filepath.Join(mnt, "tmp"), "new", false)
			if err := os.Rename(filepath.Join(mnt, "tmp"), filepath.Join(mnt, "old.txt")); err != nil {
				t.Fatal(err)
			}
			syncDir(t, mnt)
		}, map[string]string{"old.txt": ""}},
		{"overwrite in place without fsync is lost", func(t *testing.T, mnt string) {
			if err := os.WriteFile(filepath.Join(mnt, "old.txt"), []byte("scribble"), 0o644); err != nil {
				t.Fatal(err)
			}
			syncDir(t, mnt)
		}, map[string]string{"old.txt": "old"}},
		{"unlink is undone without a directory sync", func(t *testing.T, mnt string) {
			if err := os.Remove(filepath.Join(mnt, "old.txt")); err != nil {
				t.Fatal(err)
			}
		}, map[string]string{"old.txt": "old"}},
		{"a new directory needs its parent synced, its files need it synced", func(t *testing.T, mnt string) {
			if err := os.Mkdir(filepath.Join(mnt, "d"), 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(mnt, "d", "f"), "x", true)
			syncDir(t, mnt)
		}, map[string]string{"d/f": "<missing>"}},
		{"a new directory and its file, all synced", func(t *testing.T, mnt string) {
			if err := os.Mkdir(filepath.Join(mnt, "d"), 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(mnt, "d", "f"), "x", true)
			syncDir(t, filepath.Join(mnt, "d"))
			syncDir(t, mnt)
		}, map[string]string{"d/f": "x"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, mnt := powerMount(t)
			c.do(t, mnt)
			cut(t, f)
			for rel, want := range c.want {
				if got := content(t, filepath.Join(mnt, rel)); got != want {
					t.Errorf("%s after the cut = %q, want %q", rel, got, want)
				}
			}
		})
	}
}

// CutAfter(n) lets exactly n state-changing operations through; the
// rest fail with EIO and change nothing, and a read still works.
func TestCutAfterStopsAtTheNthChange(t *testing.T) {
	f, mnt := powerMount(t)
	f.CutAfter(3) // create, write, fsync
	p := filepath.Join(mnt, "a")
	fh, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteString("data"); err != nil {
		t.Fatal(err)
	}
	if err := fh.Sync(); err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteString("more"); !errors.Is(err, syscall.EIO) {
		t.Errorf("write after the cut point: %v, want EIO", err)
	}
	fh.Close()
	if err := os.Mkdir(filepath.Join(mnt, "d"), 0o755); !errors.Is(err, syscall.EIO) {
		t.Errorf("mkdir after the cut point: %v, want EIO", err)
	}
	if got := content(t, filepath.Join(mnt, "old.txt")); got != "old" {
		t.Errorf("read after the cut point: %q", got)
	}
	if n := f.Changes(); n != 3 {
		t.Errorf("Changes() = %d, want 3", n)
	}
	f = cut(t, f)
	if got := content(t, p); got != "<missing>" {
		t.Errorf("a after the cut = %q (its directory was never synced)", got)
	}
	// After the remount the power is on again, everything durable.
	writeFile(t, p, "again", true)
	syncDir(t, mnt)
	cut(t, f)
	if got := content(t, p); got != "again" {
		t.Errorf("a after the second cut = %q, want again", got)
	}
}
