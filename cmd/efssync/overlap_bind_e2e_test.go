package main

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// A bind mount hides an overlap from both the real path and the inodes of
// the path's ancestors: a destination bind-mounted from a directory inside
// the source copied the tree into itself until the path was too long, and
// wrote the source's files into the source. The overlap is judged where the
// directories lie in their file system (mountinfo), so it is exit 2 before
// anything is written, naming both keys.
func TestOverlapThroughBindMountExits2(t *testing.T) {
	cases := []struct {
		name       string
		bindSource string // bound onto <base>/mnt
		config     func(base string) string
		want       []string
	}{
		{"destination is a directory inside the source", "src/inner", func(base string) string {
			return "state_dir: " + quote(filepath.Join(base, "state")) + "\njobs:\n  - name: j\n    source: " + quote(filepath.Join(base, "src")) +
				"\n    destinations:\n      - type: fs\n        path: " + quote(filepath.Join(base, "mnt")) + "\n"
		}, []string{"jobs[0].destinations[0].path", "jobs[0].source", "bind mount"}},
		{"state_dir is a directory inside the mirror destination", "dst/keep", func(base string) string {
			return "state_dir: " + quote(filepath.Join(base, "mnt")) + "\njobs:\n  - name: j\n    source: " + quote(filepath.Join(base, "src")) +
				"\n    delete: mirror\n    destinations:\n      - type: fs\n        path: " + quote(filepath.Join(base, "dst")) + "\n"
		}, []string{"state_dir", "jobs[0].destinations[0].path"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			mkdirs(t, base, "src/inner", "dst/keep", "mnt")
			if err := os.WriteFile(filepath.Join(base, "src", "f"), []byte("keep me"), 0o644); err != nil {
				t.Fatal(err)
			}
			bindMount(t, filepath.Join(base, tc.bindSource), filepath.Join(base, "mnt"))
			mustRefuseConfig(t, base, tc.config(base), tc.want...)
			for _, d := range []string{"src/inner", "dst/keep"} {
				if ents, err := os.ReadDir(filepath.Join(base, d)); err != nil || len(ents) != 0 {
					t.Errorf("%s after the refused run: %v, %v", d, ents, err)
				}
			}
		})
	}
}

// bindMount binds dir onto at for the test. It needs CAP_SYS_ADMIN (root,
// as in the project's CI image); without it the test cannot make the
// overlap it is about.
func bindMount(t *testing.T, dir, at string) {
	t.Helper()
	if err := unix.Mount(dir, at, "", unix.MS_BIND, ""); err != nil {
		if err == unix.EPERM && os.Getenv("CI") != "true" {
			t.Skipf("bind mount needs CAP_SYS_ADMIN: %v", err)
		}
		t.Fatalf("bind mount %s on %s: %v", dir, at, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(at, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", at, err)
		}
	})
}
