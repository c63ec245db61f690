package agent

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/efssync/efssync/agent/plan"

	"github.com/efssync/efssync/agent/report"

	"github.com/efssync/efssync/agent/watch"
	"github.com/efssync/efssync/internal/treetest"
	"github.com/efssync/efssync/manifest"
)

// The recorder commits published results in batches: nothing before the
// batch interval, everything after it, and everything on close.
func TestRecorderCommitsInBatches(t *testing.T) {
	_, j, _ := staleFixture(t, nil)
	synctest.Test(t, func(t *testing.T) {
		stop := j.startRecorder(context.Background())
		rec := manifest.Record{Size: 1, ModTime: time.Unix(5, 0)}
		j.deliver(result{rel: "a", kind: plan.KindCopy, rec: rec, put: true, status: StatusCopied})
		synctest.Wait()
		if _, known, _ := j.a.db.Get("job", "a"); known {
			t.Fatal("recorded before the batch interval")
		}
		time.Sleep(batchEvery)
		synctest.Wait()
		if _, known, _ := j.a.db.Get("job", "a"); !known {
			t.Fatal("not recorded after the batch interval")
		}
		j.deliver(result{rel: "b", kind: plan.KindCopy, rec: rec, put: true, status: StatusCopied})
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
