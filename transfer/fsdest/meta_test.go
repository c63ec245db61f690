package fsdest_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/fsdest"
)

// publishWays are the ways fsdest publishes a file; each must give the
// same result.
var publishWays = map[string]fsdest.Options{
	"atomic":      {Chown: true, Xattrs: true},
	"progressive": {Chown: true, Xattrs: true, Progressive: true},
	"resumable":   {Chown: true, Xattrs: true, ResumeEvery: 1},
}

func publishMeta(t *testing.T, d *fsdest.Dest, rel, content string, m transfer.Meta) {
	t.Helper()
	ctx := context.Background()
	m.Size = int64(len(content))
	u, err := d.Begin(ctx, rel, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Write(ctx, 0, []byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := u.Commit(ctx, m); err != nil {
		t.Fatal(err)
	}
}

func lstat(t *testing.T, p string) *syscall.Stat_t {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t)
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("owner tests need root")
		}
		t.Skip("owner tests need root")
	}
}

// TestPublishNeverWritesThroughExistingInode: a destination file that is a
// hard link to a file outside the destination is replaced, never written
// into, in every way of publishing (defect #4 of issue 20: progressive
// publish opened it with O_TRUNC and overwrote the outside file).
func TestPublishNeverWritesThroughExistingInode(t *testing.T) {
	for way, opts := range publishWays {
		t.Run(way, func(t *testing.T) {
			base := t.TempDir()
			root := filepath.Join(base, "dest")
			outside := filepath.Join(base, "outside")
			if err := os.Mkdir(root, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(outside, []byte("precious outside data"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Link(outside, filepath.Join(root, "f")); err != nil {
				t.Fatal(err)
			}
			d, err := fsdest.New("d", root, opts)
			if err != nil {
				t.Fatal(err)
			}
			publishMeta(t, d, "f", "new", transfer.Meta{Mode: 0o644, UID: -1, GID: -1})
			if b, _ := os.ReadFile(outside); string(b) != "precious outside data" {
				t.Errorf("outside file now holds %q", b)
			}
			if b, _ := os.ReadFile(filepath.Join(root, "f")); string(b) != "new" {
				t.Errorf("destination holds %q", b)
			}
			if n := lstat(t, outside).Nlink; n != 1 {
				t.Errorf("outside file still has %d links", n)
			}
		})
	}
}

// TestPublishAppliesMetadata: a file republished with new content, mode,
// owner, mtime and xattrs gets all of them, whichever way it is published
// and whatever the file it replaces carried.
func TestPublishAppliesMetadata(t *testing.T) {
	needRoot(t)
	mtime := time.Date(2020, 2, 3, 4, 5, 6, 789, time.UTC)
	for way, opts := range publishWays {
		t.Run(way, func(t *testing.T) {
			root := t.TempDir()
			p := filepath.Join(root, "f")
			if err := os.WriteFile(p, []byte("old content"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(p, 1000, 1000); err != nil {
				t.Fatal(err)
			}
			d, err := fsdest.New("d", root, opts)
			if err != nil {
				t.Fatal(err)
			}
			m := transfer.Meta{Mode: 0o600, ModTime: mtime, UID: 1234, GID: 2345,
				Xattrs: map[string][]byte{"user.efssync.test": []byte("v")}}
			publishMeta(t, d, "f", "new", m)
			got, err := d.Stat(context.Background(), "f")
			if err != nil {
				t.Fatal(err)
			}
			if got.Mode != 0o600 || got.UID != 1234 || got.GID != 2345 || !got.ModTime.Equal(mtime) || got.Size != 3 {
				t.Errorf("Stat = %+v, want mode 0600, owner 1234:2345, mtime %v, size 3", got, mtime)
			}
			buf := make([]byte, 8)
			if n, err := unix.Getxattr(p, "user.efssync.test", buf); err != nil || string(buf[:n]) != "v" {
				t.Errorf("xattr: %q, %v", buf[:n], err)
			}
			// Owner back to the agent's own: a chown is needed here too.
			m.UID, m.GID = 0, 0
			publishMeta(t, d, "f", "newer", m)
			if st := lstat(t, p); st.Uid != 0 || st.Gid != 0 {
				t.Errorf("owner %d:%d, want 0:0", st.Uid, st.Gid)
			}
		})
	}
}

// TestProgressiveGrowsUnderFinalName: a progressive file is visible under
// its final name, as a new file, from Begin on, and grows there while
// written; a reader that opened it early reads the new content.
func TestProgressiveGrowsUnderFinalName(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	p := filepath.Join(root, "seg.ts")
	if err := os.WriteFile(p, []byte("previous segment"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := fsdest.New("d", root, fsdest.Options{Progressive: true})
	if err != nil {
		t.Fatal(err)
	}
	m := transfer.Meta{Size: 6, Mode: 0o644, UID: -1, GID: -1}
	u, err := d.Begin(ctx, "seg.ts", m, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := os.Open(p)
	if err != nil {
		t.Fatalf("final name missing after Begin: %v", err)
	}
	defer r.Close()
	if fi, _ := r.Stat(); fi.Size() != 0 {
		t.Errorf("after Begin the final name has %d bytes, want a new empty file", fi.Size())
	}
	if err := u.Write(ctx, 0, []byte("abc")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if n, _ := r.ReadAt(buf, 0); string(buf[:n]) != "abc" {
		t.Errorf("mid-write the final name reads %q", buf[:n])
	}
	if err := u.Write(ctx, 3, []byte("def")); err != nil {
		t.Fatal(err)
	}
	if err := u.Commit(ctx, m); err != nil {
		t.Fatal(err)
	}
	if n, _ := r.ReadAt(buf, 0); string(buf[:n]) != "abcdef" {
		t.Errorf("after Commit the early reader reads %q", buf[:n])
	}
	if ents, _ := os.ReadDir(root); len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
}

// TestProgressiveReplacesSymlink: a symlink under the final name is
// replaced by the file, and what it points to is left alone.
func TestProgressiveReplacesSymlink(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "dest")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(base, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(root, "f")); err != nil {
		t.Fatal(err)
	}
	d, err := fsdest.New("d", root, fsdest.Options{Progressive: true})
	if err != nil {
		t.Fatal(err)
	}
	publishMeta(t, d, "f", "new", transfer.Meta{Mode: 0o644, UID: -1, GID: -1})
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("symlink target now holds %q", b)
	}
	if fi, err := os.Lstat(filepath.Join(root, "f")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("final name: %v, %v", fi, err)
	}
}

// TestMkdirAppliesMetadata: an existing directory gets the source's mode,
// owner, mtime and xattrs, as a file does.
func TestMkdirAppliesMetadata(t *testing.T) {
	needRoot(t)
	root := t.TempDir()
	p := filepath.Join(root, "dir")
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	d, err := fsdest.New("d", root, fsdest.Options{Chown: true, Xattrs: true})
	if err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2019, 1, 2, 3, 4, 5, 6, time.UTC)
	m := transfer.Meta{Mode: fs.ModeDir | fs.ModeSetgid | 0o750, ModTime: mtime, UID: 1234, GID: 2345,
		Xattrs: map[string][]byte{"user.efssync.dir": []byte("d")}}
	if err := d.Mkdir(context.Background(), "dir", m); err != nil {
		t.Fatal(err)
	}
	got, err := d.Stat(context.Background(), "dir")
	if err != nil {
		t.Fatal(err)
	}
	if got.Mode != m.Mode || got.UID != 1234 || got.GID != 2345 || !got.ModTime.Equal(mtime) {
		t.Errorf("Stat = %+v, want %+v", got, m)
	}
	buf := make([]byte, 8)
	if n, err := unix.Getxattr(p, "user.efssync.dir", buf); err != nil || string(buf[:n]) != "d" {
		t.Errorf("xattr: %q, %v", buf[:n], err)
	}
}

// TestTimesOutsideUnixNanoRange: mtimes after 2262 and before 1970 are
// published as they are, for files (every way), directories and
// symlinks (defect #6 of issue 20: 3000 was written as 1901). ext4 stores
// times up to 2446, so 3000 is tried on a tmpfs.
func TestTimesOutsideUnixNanoRange(t *testing.T) {
	ctx := context.Background()
	for _, mtime := range []time.Time{
		time.Date(2300, 1, 2, 3, 4, 5, 600, time.UTC),
		time.Date(3000, 1, 2, 3, 4, 5, 600, time.UTC),
		time.Date(1960, 7, 8, 9, 10, 11, 120, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
	} {
		t.Run(mtime.Format("2006"), func(t *testing.T) {
			tempDir := t.TempDir
			if mtime.Year() > 2446 {
				tempDir = func() string { return tmpfsDir(t) }
			}
			check := func(what string, got transfer.Meta, err error) {
				t.Helper()
				if err != nil || !got.ModTime.Equal(mtime) {
					t.Errorf("%s: mtime %v, %v; want %v", what, got.ModTime, err, mtime)
				}
			}
			for way, opts := range publishWays {
				opts.Chown, opts.Xattrs = false, false
				d, err := fsdest.New("d", tempDir(), opts)
				if err != nil {
					t.Fatal(err)
				}
				publishMeta(t, d, "f", "x", transfer.Meta{Mode: 0o644, ModTime: mtime, UID: -1, GID: -1})
				got, err := d.Stat(ctx, "f")
				check(way+" file", got, err)
			}
			d, err := fsdest.New("d", tempDir(), fsdest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Mkdir(ctx, "dir", transfer.Meta{Mode: fs.ModeDir | 0o755, ModTime: mtime, UID: -1, GID: -1}); err != nil {
				t.Fatal(err)
			}
			got, err := d.Stat(ctx, "dir")
			check("directory", got, err)
			if err := d.Symlink(ctx, "link", "target", transfer.Meta{Mode: fs.ModeSymlink | 0o777, ModTime: mtime, UID: -1, GID: -1}); err != nil {
				t.Fatal(err)
			}
			got, err = d.Stat(ctx, "link")
			check("symlink", got, err)
		})
	}
}

// tmpfsDir is a fresh directory on /dev/shm, a tmpfs, which stores 64-bit
// times.
func tmpfsDir(t *testing.T) string {
	t.Helper()
	var sfs unix.Statfs_t
	if err := unix.Statfs("/dev/shm", &sfs); err != nil || sfs.Type != unix.TMPFS_MAGIC {
		t.Skip("no tmpfs at /dev/shm for times beyond ext4's 2446")
	}
	dir, err := os.MkdirTemp("/dev/shm", "fsdest-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
