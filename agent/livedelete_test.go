package agent

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/efssync/efssync/internal/treetest"
)

// Watch mode removes what the source lost (issue 11, D6).
func TestWatchDeletesDirectoriesRecursively(t *testing.T) {
	outside := t.TempDir()
	f, _ := watching(t, "    mode: watch\n    quiet: 1s\n    delete: mirror\n    max_delete: \"100\"\n")
	src, dst := f.src, f.dests[0]
	must(t, os.MkdirAll(filepath.Join(src, "gone/deep"), 0o755))
	must(t, os.MkdirAll(filepath.Join(src, "old"), 0o755))
	treetest.Write(t, src, map[string]string{"gone/a": "1", "gone/deep/b": "2", "old/c": "3"})
	for _, rel := range []string{"gone/a", "gone/deep/b", "old/c"} {
		eventually(t, rel+" published", func() bool { _, err := os.Stat(filepath.Join(dst, rel)); return err == nil })
	}
	must(t, os.Rename(filepath.Join(src, "gone"), filepath.Join(outside, "gone")))
	must(t, os.Rename(filepath.Join(src, "old"), filepath.Join(src, "new")))
	for _, rel := range []string{"gone", "old"} {
		eventually(t, rel+" removed at the destination", func() bool {
			_, err := os.Lstat(filepath.Join(dst, rel))
			return os.IsNotExist(err)
		})
	}
}

// A file deleted while the agent was stopped goes in the initial pass; a
// stray entry at the destination goes at the next rescan.
func TestWatchMirrorDeleteOnInitialPassAndRescan(t *testing.T) {
	f := newFixture(t, 1)
	f.extra = "    delete: mirror\n    max_delete: \"100\"\n"
	treetest.Write(t, f.src, map[string]string{"keep": "1", "drop": "2", "dir/x": "3"})
	if sum := f.run(Options{}); !sum.OK() {
		t.Fatalf("once run: %+v", sum)
	}
	must(t, os.Remove(filepath.Join(f.src, "drop")))
	must(t, os.RemoveAll(filepath.Join(f.src, "dir")))
	f.extra += "    mode: watch\n    quiet: 30s\n    rescan: 1s\n"
	ready, _ := f.startWatch(t)
	<-ready
	dst := f.dests[0]
	for _, rel := range []string{"drop", "dir"} {
		eventually(t, rel+" removed by the initial pass", func() bool {
			_, err := os.Lstat(filepath.Join(dst, rel))
			return os.IsNotExist(err)
		})
	}
	treetest.Write(t, dst, map[string]string{"stray": "not the source's"})
	eventually(t, "stray removed by a rescan", func() bool {
		_, err := os.Lstat(filepath.Join(dst, "stray"))
		return os.IsNotExist(err)
	})
	if _, err := os.Stat(filepath.Join(dst, "keep")); err != nil {
		t.Fatalf("keep: %v", err)
	}
}
