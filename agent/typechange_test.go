package agent

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/efssync/efssync/agent/walk"

	"github.com/efssync/efssync/internal/treetest"
	"github.com/efssync/efssync/manifest"
)

// A source directory replaced by a file or a symlink converges: the
// destination's directory is replaced within max_delete, the manifest
// forgets what was below it, and a second run has nothing to do (issue 11,
// D5). The reverse (a file replaced by a directory) converges too.
func TestSourceTypeChangeConverges(t *testing.T) {
	outside := t.TempDir()
	treetest.Write(t, outside, map[string]string{"a": "not the source's", "keep": "precious"})
	cases := []struct {
		name    string
		replace func(t *testing.T, abs string)
	}{
		{"directory by file", func(t *testing.T, abs string) {
			must(t, os.RemoveAll(abs))
			must(t, os.WriteFile(abs, []byte("a file now"), 0o644))
		}},
		{"directory by symlink", func(t *testing.T, abs string) {
			must(t, os.RemoveAll(abs))
			must(t, os.Symlink(outside, abs))
		}},
	}
	for _, mirror := range []bool{false, true} {
		for _, c := range cases {
			name := c.name
			if mirror {
				name += "/mirror"
			}
			t.Run(name, func(t *testing.T) {
				f := newFixture(t, 1)
				f.extra = "    max_delete: \"100\"\n"
				if mirror {
					f.extra += "    delete: mirror\n"
				}
				treetest.Write(t, f.src, map[string]string{"sub/a": "1", "sub/deep/b": "2", "top": "3"})
				if sum := f.run(Options{}); !sum.OK() {
					t.Fatalf("first run: %+v", sum)
				}
				c.replace(t, filepath.Join(f.src, "sub"))
				if sum := f.run(Options{}); !sum.OK() {
					b, _ := os.ReadFile(sum.ReportPath)
					t.Fatalf("run after the type change: %+v\n%s", sum, b)
				}
				treetest.Equal(t, f.src, f.dests[0])
				if sum := f.run(Options{}); !sum.OK() || sum.Copied != 0 || sum.Deleted != 0 {
					b, _ := os.ReadFile(sum.ReportPath)
					t.Fatalf("second run did work: %+v\n%s", sum, b)
				}
				db, err := manifest.Open(f.config().Manifest)
				must(t, err)
				defer db.Close()
				for _, rel := range []string{"sub/a", "sub/deep", "sub/deep/b"} {
					if _, ok, _ := db.Get("job", rel); ok {
						t.Errorf("the manifest still claims %s", rel)
					}
				}
				if b, err := os.ReadFile(filepath.Join(outside, "keep")); err != nil || string(b) != "precious" {
					t.Fatalf("outside the source: %q, %v", b, err)
				}
			})
		}
	}
	t.Run("file by directory", func(t *testing.T) {
		f := newFixture(t, 1)
		treetest.Write(t, f.src, map[string]string{"sub": "a file"})
		f.run(Options{})
		must(t, os.Remove(filepath.Join(f.src, "sub")))
		treetest.Write(t, f.src, map[string]string{"sub/a": "1"})
		if sum := f.run(Options{}); !sum.OK() {
			b, _ := os.ReadFile(sum.ReportPath)
			t.Fatalf("run after the type change: %+v\n%s", sum, b)
		}
		treetest.Equal(t, f.src, f.dests[0])
	})
}

// The replacement of a directory is a delete, held by max_delete: too many
// entries below it and nothing at the destination goes.
func TestSourceTypeChangeHeldByMaxDelete(t *testing.T) {
	f := newFixture(t, 1)
	f.extra = "    max_delete: \"2\"\n"
	treetest.Write(t, f.src, map[string]string{"sub/a": "1", "sub/b": "2", "sub/c": "3", "top": "4"})
	f.run(Options{})
	must(t, os.RemoveAll(filepath.Join(f.src, "sub")))
	must(t, os.WriteFile(filepath.Join(f.src, "sub"), []byte("file"), 0o644))
	if sum := f.run(Options{}); sum.Failed != 1 {
		t.Fatalf("want the replacement refused: %+v", sum)
	}
	for _, rel := range []string{"sub/a", "sub/b", "sub/c"} {
		if _, err := os.Stat(filepath.Join(f.dests[0], rel)); err != nil {
			t.Errorf("%s went although max_delete refused: %v", rel, err)
		}
	}
}

// The delete check never follows a source symlink: below a link, nothing
// is the source's.
func TestSourceLacksDoesNotFollowSymlinks(t *testing.T) {
	root, other := t.TempDir(), t.TempDir()
	treetest.Write(t, other, map[string]string{"f": "x"})
	treetest.Write(t, root, map[string]string{"d/g": "y"})
	must(t, os.Symlink(other, filepath.Join(root, "link")))
	for rel, want := range map[string]bool{"link/f": true, "link": false, "d/g": false, "d/none": true, "d/g/x": true, "none/x": true} {
		if got := walk.Lacks(root, rel); got != want {
			t.Errorf("walk.Lacks(%s) = %v, want %v", rel, got, want)
		}
	}
}

// A directory where the source has a file, unknown to the manifest (one
// rebuilt after damage), is replaced as well.
func TestUnrecordedDirectoryInTheWayIsReplaced(t *testing.T) {
	f := newFixture(t, 1)
	f.extra = "    max_delete: \"100\"\n"
	treetest.Write(t, f.src, map[string]string{"x": "a file at the source", "y": "another"})
	treetest.Write(t, f.dests[0], map[string]string{"x/inside": "a directory at the destination"})
	if sum := f.run(Options{}); !sum.OK() {
		b, _ := os.ReadFile(sum.ReportPath)
		t.Fatalf("run: %+v\n%s", sum, b)
	}
	treetest.Equal(t, f.src, f.dests[0])
}
