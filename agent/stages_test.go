package agent

import (
	"context"
	"github.com/efssync/efssync/agent/report"
	"github.com/efssync/efssync/agent/walk"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/efssync/efssync/agent/watch"
	"github.com/efssync/efssync/internal/treetest"
	"github.com/efssync/efssync/manifest"
)

// The plan strategy decides from the stat and the record alone.
func TestStatStrategyPlan(t *testing.T) {
	mt := time.Unix(1000, 0)
	st := walk.Stat{Size: 10, Mtime: mt, Ctime: mt, Ino: 7}
	file := walk.Entry{Rel: "f", Mode: 0o644}
	pub := manifest.Published{Size: 10, ModTime: mt, Hash: [32]byte{1}}
	rec := manifest.Record{Size: 10, ModTime: mt, CTime: mt, Inode: 7, Mode: 0o644, Hash: [32]byte{1}}
	rec.Dests.Set("a", pub)
	rec.Dests.Set("b", pub)
	dests := []string{"a", "b"}
	s := statStrategy{}
	for _, c := range []struct {
		name  string
		e     walk.Entry
		st    walk.Stat
		rec   manifest.Record
		known bool
		kind  Kind
		to    []int
	}{
		{"unchanged everywhere", file, st, rec, true, KindSkip, nil},
		{"new", file, st, manifest.Record{}, false, KindCopy, []int{0, 1}},
		{"grown", file, walk.Stat{Size: 11, Mtime: mt, Ctime: mt, Ino: 7}, rec, true, KindCopy, []int{0, 1}},
		{"same size, new inode", file, walk.Stat{Size: 10, Mtime: mt, Ctime: mt, Ino: 8}, rec, true, KindCopy, []int{0, 1}},
		{"a destination added", file, st, func() manifest.Record { r := rec; r.Dests = r.Dests.Clone(); r.Dests.Delete("b"); return r }(), true, KindCopy, []int{1}},
		{"directory", walk.Entry{Rel: "d", Mode: fs.ModeDir | 0o755}, st, manifest.Record{}, false, KindMkdir, []int{0, 1}},
		{"symlink", walk.Entry{Rel: "l", Mode: fs.ModeSymlink | 0o777}, st, manifest.Record{}, false, KindSymlink, []int{0, 1}},
		{"fifo", walk.Entry{Rel: "p", Mode: fs.ModeNamedPipe | 0o644}, st, manifest.Record{}, false, KindSkip, nil},
	} {
		a := s.Plan(c.e, c.st, c.rec, c.known, dests)
		if a.Kind != c.kind || !slices.Equal(a.Dests, c.to) {
			t.Errorf("%s: plan %v to %v, want %v to %v", c.name, a.Kind, a.Dests, c.kind, c.to)
		}
	}
	if a := (statStrategy{checksum: true}).Plan(file, st, rec, true, dests); a.Kind != KindRehash {
		t.Errorf("checksum mode on an unchanged file: %v, want rehash", a.Kind)
	}
}

// The recorder commits published results in batches: nothing before the
// batch interval, everything after it, and everything on close.
func TestRecorderCommitsInBatches(t *testing.T) {
	_, j, _ := staleFixture(t, nil)
	synctest.Test(t, func(t *testing.T) {
		stop := j.startRecorder(context.Background())
		rec := manifest.Record{Size: 1, ModTime: time.Unix(5, 0)}
		j.deliver(result{rel: "a", kind: KindCopy, rec: rec, put: true, status: StatusCopied})
		synctest.Wait()
		if _, known, _ := j.a.db.Get("job", "a"); known {
			t.Fatal("recorded before the batch interval")
		}
		time.Sleep(batchEvery)
		synctest.Wait()
		if _, known, _ := j.a.db.Get("job", "a"); !known {
			t.Fatal("not recorded after the batch interval")
		}
		j.deliver(result{rel: "b", kind: KindCopy, rec: rec, put: true, status: StatusCopied})
		must(t, stop())
		if _, known, _ := j.a.db.Get("job", "b"); !known {
			t.Fatal("not recorded at close")
		}
	})
}

// finished.quiet holds in watch mode too: a file closed by its writer is
// published only once it has not changed for that long (issue 11, D1).
func TestWatchHoldsFinishedQuiet(t *testing.T) {
	f, stop := watching(t, "    finished: {quiet: 1s}\n")
	p := filepath.Join(f.src, "rec.mp4")
	must(t, os.WriteFile(p, []byte("recording"), 0o644))
	fi, err := os.Stat(p)
	must(t, err)
	dst := filepath.Join(f.dests[0], "rec.mp4")
	eventually(t, "publication", func() bool { _, err := os.Stat(dst); return err == nil })
	if since := time.Since(fi.ModTime()); since < time.Second {
		t.Fatalf("published %v after the last write, before finished.quiet (1s)", since)
	}
	stop()
}

// watchEvents runs fn against a watch-mode job run fed by hand, inside a
// synctest bubble: events go straight to the handler, without inotify, and
// the followers' waits run on the bubble's clock.
func watchEvents(t *testing.T, files map[string]string, fn func(t *testing.T, f *fixture, l *live, ctx context.Context)) {
	f := newFixture(t, 1)
	f.extra = "    mode: watch\n    quiet: 30s\n"
	treetest.Write(t, f.src, files)
	a, err := New(f.config(), Options{})
	must(t, err)
	t.Cleanup(func() { a.Close() })
	rep, _ := report.Open("")
	j, l, err := a.newWatchRun(context.Background(), a.cfg.Jobs[0], rep, &report.Counters{})
	must(t, err)
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		l.ctx = ctx
		stopRecorder := j.startRecorder(ctx)
		fn(t, f, l, ctx)
		cancel()
		l.followWG.Wait()
		must(t, stopRecorder())
	})
}

// A file's close event finishes its follower at once: published without
// waiting for `quiet`, and with the bytes it has at the close.
func TestWatchEventCloseWritePublishes(t *testing.T) {
	watchEvents(t, map[string]string{"seg.ts": "segment"}, func(t *testing.T, f *fixture, l *live, ctx context.Context) {
		l.handle(ctx, watch.Event{Rel: "seg.ts", Op: watch.Create})
		synctest.Wait()
		if _, err := os.Stat(filepath.Join(f.dests[0], "seg.ts")); err == nil {
			t.Fatal("published before the writer closed it")
		}
		l.handle(ctx, watch.Event{Rel: "seg.ts", Op: watch.CloseWrite})
		synctest.Wait()
		got, err := os.ReadFile(filepath.Join(f.dests[0], "seg.ts"))
		if err != nil || string(got) != "segment" {
			t.Fatalf("after the close: %q, %v", got, err)
		}
	})
}

// Without a close, a file that stops growing is finished after `quiet`,
// on the follower's clock, not before.
func TestWatchEventQuietFinishes(t *testing.T) {
	watchEvents(t, map[string]string{"rec.ts": "recording"}, func(t *testing.T, f *fixture, l *live, ctx context.Context) {
		l.handle(ctx, watch.Event{Rel: "rec.ts", Op: watch.Write})
		time.Sleep(29 * time.Second)
		synctest.Wait()
		if _, err := os.Stat(filepath.Join(f.dests[0], "rec.ts")); err == nil {
			t.Fatal("published before quiet passed")
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if _, err := os.Stat(filepath.Join(f.dests[0], "rec.ts")); err != nil {
			t.Fatalf("not published after quiet: %v", err)
		}
	})
}
