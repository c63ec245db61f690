package agent

import (
	"os"
	"path/filepath"
	"testing"
)

// Mirror delete never deletes what the filters leave out, so it never
// tries to delete a directory that still holds such an entry: with
// include: ["*.txt"], a destination directory gone from the source that
// holds a .bin stays, with the .bin, and the run is in sync, every run.
// The same holds for an exclude pattern, and for a directory nested below
// another one that goes.
func TestMirrorDeleteKeepsDirectoriesHoldingFilteredEntries(t *testing.T) {
	for name, filters := range map[string]string{
		"include": "    include: [\"*.txt\"]\n",
		"exclude": "    exclude: [\"*.bin\"]\n",
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, 1)
			f.extra = "    delete: mirror\n    max_delete: \"100%\"\n" + filters
			must(t, os.WriteFile(filepath.Join(f.src, "a.txt"), []byte("a"), 0o644))
			dst := f.dests[0]
			must(t, os.MkdirAll(filepath.Join(dst, "other", "deep"), 0o755))
			must(t, os.WriteFile(filepath.Join(dst, "other", "deep", "x.bin"), []byte("x"), 0o644))
			must(t, os.WriteFile(filepath.Join(dst, "other", "gone.txt"), []byte("g"), 0o644))
			must(t, os.MkdirAll(filepath.Join(dst, "empty", "dir"), 0o755))
			for run := range 2 {
				sum := f.run(Options{})
				if !sum.OK() || sum.Failed != 0 {
					t.Fatalf("run %d: %+v, want in sync (nothing tried that the filters keep)", run, sum)
				}
			}
			if _, err := os.Stat(filepath.Join(dst, "other", "deep", "x.bin")); err != nil {
				t.Errorf("an entry the filters leave out was deleted: %v", err)
			}
			for _, gone := range []string{"other/gone.txt", "empty"} {
				if _, err := os.Lstat(filepath.Join(dst, gone)); !os.IsNotExist(err) {
					t.Errorf("%s: not deleted (%v), though the source lacks it and the filters keep it", gone, err)
				}
			}
		})
	}
}
