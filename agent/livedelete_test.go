package agent

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// refusalLog is a slog handler that closes refused at the first "watch
// delete refused" record and counts them all.
type refusalLog struct {
	once    *sync.Once
	refused chan struct{}
	n       *atomic.Int64
}

func newRefusalLog() refusalLog {
	return refusalLog{once: &sync.Once{}, refused: make(chan struct{}), n: &atomic.Int64{}}
}

func (h refusalLog) Enabled(context.Context, slog.Level) bool { return true }
func (h refusalLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h refusalLog) WithGroup(string) slog.Handler            { return h }
func (h refusalLog) Handle(_ context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "watch delete refused") {
		h.n.Add(1)
		h.once.Do(func() { close(h.refused) })
	}
	return nil
}

// Issue 20 #3: with delete: mirror and max_delete: 10%, removing the
// source's files while the agent runs deleted every replica file, one
// event at a time, each within max_delete by itself. The rolling window
// counts them together: at most 10% go, and the refusal is logged once.
// One file stays in the source, so the empty-source guard cannot be what
// stops the deletes.
func TestWatchMassDeleteStopsAtMaxDelete(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files int
		dirs  bool // the files sit in directories removed whole
	}{
		{"files", 100, false},
		{"directories", 100, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 1)
			f.extra = "    delete: mirror\n    max_delete: 10%\n"
			files := map[string]string{"keep": "stays"}
			for i := range tc.files {
				rel := fmt.Sprintf("f%03d", i)
				if tc.dirs {
					rel = fmt.Sprintf("d%02d/f%03d", i/5, i)
				}
				files[rel] = "data"
			}
			treetest.Write(t, f.src, files)
			if sum := f.run(Options{}); !sum.OK() {
				t.Fatalf("once run: %+v", sum)
			}
			h := newRefusalLog()
			ready, stop := f.startWatchOpts(t, Options{Log: slog.New(h)})
			<-ready
			ents, err := os.ReadDir(f.src)
			must(t, err)
			for _, e := range ents {
				if e.Name() != "keep" {
					must(t, os.RemoveAll(filepath.Join(f.src, e.Name())))
				}
			}
			select {
			case <-h.refused:
			case <-time.After(20 * time.Second):
				t.Fatal("no delete was refused")
			}
			stop()
			left := 0
			must(t, filepath.WalkDir(f.dests[0], func(p string, d fs.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					left++
				}
				return err
			}))
			// 10% of the 101 files (and, with dirs, 20 directories) the
			// manifest knows may go; the rest and keep stay.
			if gone := tc.files + 1 - left; gone > 12 || left < 90 {
				t.Errorf("%d of %d files deleted at the destination, want at most 10%%", gone, tc.files+1)
			}
			if _, err := os.Stat(filepath.Join(f.dests[0], "keep")); err != nil {
				t.Errorf("keep: %v", err)
			}
			if n := h.n.Load(); n != 1 {
				t.Errorf("refusal logged %d times, want once", n)
			}
		})
	}
}

// The empty-source guard holds for deletes one event at a time too: a
// source emptied (or unmounted) under the agent deletes nothing, even with
// max_delete at 100%.
func TestWatchEmptiedSourceDeletesNothing(t *testing.T) {
	f := newFixture(t, 1)
	f.extra = "    delete: mirror\n    max_delete: 100%\n"
	treetest.Write(t, f.src, map[string]string{"all/a": "1", "all/b": "2", "all/dir/c": "3"})
	if sum := f.run(Options{}); !sum.OK() {
		t.Fatalf("once run: %+v", sum)
	}
	h := newRefusalLog()
	ready, stop := f.startWatchOpts(t, Options{Log: slog.New(h)})
	<-ready
	// Emptied in one step, as an unmount would: its one directory moved out.
	must(t, os.Rename(filepath.Join(f.src, "all"), filepath.Join(t.TempDir(), "all")))
	select {
	case <-h.refused:
	case <-time.After(20 * time.Second):
		t.Fatal("no delete was refused")
	}
	stop()
	for _, rel := range []string{"all/a", "all/b", "all/dir/c"} {
		if _, err := os.Stat(filepath.Join(f.dests[0], rel)); err != nil {
			t.Errorf("%s deleted from an emptied source: %v", rel, err)
		}
	}
}
