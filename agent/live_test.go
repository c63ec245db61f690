package agent

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/efssync/efssync/internal/treetest"
)

// eventually polls cond until it holds or a generous deadline passes; it
// waits for the agent's goroutines, it does not measure them.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startWatch runs the fixture's job in watch mode until the test ends.
func (f *fixture) startWatch(t *testing.T) (ready <-chan struct{}, stop func() *Summary) {
	t.Helper()
	return f.startWatchOpts(t, Options{})
}

// watching starts a one-destination watch job with the job settings in
// extra, waits until it watches, and returns its stop.
func watching(t *testing.T, extra string) (*fixture, func() *Summary) {
	t.Helper()
	f := newFixture(t, 1)
	f.extra = extra
	ready, stop := f.startWatch(t)
	<-ready
	return f, stop
}

// startWatchOpts is startWatch with the agent's options.
func (f *fixture) startWatchOpts(t *testing.T, opts Options) (ready <-chan struct{}, stop func() *Summary) {
	t.Helper()
	if !strings.Contains(f.extra, "mode: watch") {
		f.extra = "    mode: watch\n    quiet: 30s\n" + f.extra
	}
	if opts.Log == nil {
		opts.Log = testLogger(t)
	}
	a, err := New(f.config(), opts)
	must(t, err)
	rd := make(chan struct{})
	a.opts.Notify = func(s string) {
		if s == "READY=1" {
			close(rd)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *Summary, 1)
	go func() {
		sum, err := a.Run(ctx)
		if err != nil {
			t.Errorf("watch run: %v", err)
		}
		done <- sum
	}()
	var sum *Summary
	stopped := false
	stop = func() *Summary {
		if !stopped {
			stopped = true
			cancel()
			sum = <-done
			a.Close()
		}
		return sum
	}
	t.Cleanup(func() { stop() })
	return rd, stop
}

func TestWatchFollowsAGrowingFile(t *testing.T) {
	f := newFixture(t, 2)
	treetest.Write(t, f.src, map[string]string{"old": "already there"})
	ready, stop := f.startWatch(t)
	<-ready
	eventually(t, "initial sync", func() bool { _, err := os.Stat(filepath.Join(f.dests[1], "old")); return err == nil })

	w, err := os.Create(filepath.Join(f.src, "growing.ts"))
	must(t, err)
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	_, err = w.Write(chunk)
	must(t, err)
	// The destination's temp file holds the first chunk while the writer
	// still has the file open.
	for _, d := range f.dests {
		eventually(t, "temp file to grow", func() bool {
			for _, p := range treetest.Leftovers(t, d) {
				if fi, err := os.Stat(p); err == nil && fi.Size() >= int64(len(chunk)) {
					return true
				}
			}
			return false
		})
		if _, err := os.Stat(filepath.Join(d, "growing.ts")); err == nil {
			t.Fatal("a file still being written is visible under its final name")
		}
	}
	_, err = w.Write(chunk)
	must(t, err)
	must(t, w.Close())
	for _, d := range f.dests {
		eventually(t, "publication after close", func() bool {
			fi, err := os.Stat(filepath.Join(d, "growing.ts"))
			return err == nil && fi.Size() == 2*int64(len(chunk))
		})
	}
	stop()
	for _, d := range f.dests {
		treetest.Equal(t, f.src, d)
	}
}

func TestWatchTruncationRestarts(t *testing.T) {
	f := newFixture(t, 1)
	ready, stop := f.startWatch(t)
	<-ready
	p := filepath.Join(f.src, "f")
	must(t, os.WriteFile(p, bytes.Repeat([]byte("a"), 100<<10), 0o644))
	eventually(t, "first version", func() bool { _, err := os.Stat(filepath.Join(f.dests[0], "f")); return err == nil })
	w, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
	must(t, err)
	_, _ = w.WriteString("short")
	must(t, w.Close())
	eventually(t, "rewritten version", func() bool {
		b, err := os.ReadFile(filepath.Join(f.dests[0], "f"))
		return err == nil && string(b) == "short"
	})
	stop()
	treetest.Equal(t, f.src, f.dests[0])
}

// TestWatchPlaylistNeverRunsAhead writes segments and playlists the way an
// encoder does and checks, at every playlist publication, that each listed
// segment is whole at the destination.
func TestWatchPlaylistNeverRunsAhead(t *testing.T) {
	f := newFixture(t, 2)
	f.extra = "    order: [hls]\n    delete: mirror\n    max_delete: \"100%\"\n"
	ready, stop := f.startWatch(t)
	<-ready
	seg := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 50<<10+i) }
	writePlaylist := func(first, last int) {
		tmp := filepath.Join(f.src, "live.m3u8.tmp")
		must(t, os.WriteFile(tmp, []byte(hlsPlaylist(first, last)), 0o644))
		must(t, os.Rename(tmp, filepath.Join(f.src, "live.m3u8")))
	}
	violations := make(chan string, 100)
	checkDone := make(chan struct{})
	checkCtx, stopCheck := context.WithCancel(context.Background())
	go func() {
		defer close(checkDone)
		for checkCtx.Err() == nil {
			for _, d := range f.dests {
				for _, v := range playlistViolations(d, seg) {
					violations <- v
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	for i := range 12 {
		w, err := os.Create(filepath.Join(f.src, fmt.Sprintf("seg%03d.ts", i)))
		must(t, err)
		data := seg(i)
		_, _ = w.Write(data[:len(data)/2])
		_, _ = w.Write(data[len(data)/2:])
		must(t, w.Close())
		first := max(0, i-3)
		writePlaylist(first, i)
		if first > 0 {
			must(t, os.Remove(filepath.Join(f.src, fmt.Sprintf("seg%03d.ts", first-1))))
		}
	}
	start := time.Now()
	for _, d := range f.dests {
		eventually(t, "last playlist", func() bool {
			b, _ := os.ReadFile(filepath.Join(d, "live.m3u8"))
			return strings.Contains(string(b), "seg011.ts")
		})
		eventually(t, "sliding-window deletes", func() bool {
			des, _ := os.ReadDir(d)
			if len(des) != 5 && time.Since(start) > 10*time.Second {
				for _, de := range des {
					t.Log(d, de.Name())
				}
			}
			return len(des) == 5 // seg008..seg011 and the playlist
		})
	}
	stopCheck()
	<-checkDone
	close(violations)
	for v := range violations {
		t.Error(v)
	}
	stop()
	for _, d := range f.dests {
		treetest.Equal(t, f.src, d)
	}
}

// playlistViolations names the segments the playlist served in d lists
// that are missing or not whole (want gives a segment's content), counted
// only while that same playlist is still served after the look: a newer
// one published meanwhile may have released a segment that was deleted.
func playlistViolations(d string, want func(int) []byte) []string {
	pl := filepath.Join(d, "live.m3u8")
	before, err := os.ReadFile(pl)
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(before), "\n") {
		if !strings.HasSuffix(line, ".ts") {
			continue
		}
		var i int
		fmt.Sscanf(line, "seg%03d.ts", &i)
		got, err := os.ReadFile(filepath.Join(d, line))
		if err != nil || !bytes.Equal(got, want(i)) {
			out = append(out, fmt.Sprintf("%s lists %s, which is missing or incomplete", d, line))
		}
	}
	if after, err := os.ReadFile(pl); len(out) == 0 || err != nil || !bytes.Equal(before, after) {
		return nil
	}
	return out
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("EFSSYNC_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Issue 20 #8: a symlink made while the agent watches is published as a
// symlink and counted as one, not logged as failed ("too many levels of
// symbolic links"), and the run ends in sync. Variants: a symlink renamed
// into place, one put over a regular file, and a dangling one.
func TestWatchNewSymlinkIsNoFailure(t *testing.T) {
	f, stop := watching(t, "")
	src, dst := f.src, f.dests[0]
	treetest.Write(t, src, map[string]string{"target": "t", "was-file": "x"})
	eventually(t, "files published", func() bool {
		_, err := os.Stat(filepath.Join(dst, "was-file"))
		return err == nil
	})
	must(t, os.Symlink("target", filepath.Join(src, "link")))
	must(t, os.Symlink("nowhere", filepath.Join(src, "dangling")))
	must(t, os.Symlink("target", filepath.Join(src, ".tmp-link")))
	must(t, os.Rename(filepath.Join(src, ".tmp-link"), filepath.Join(src, "moved")))
	must(t, os.Symlink("target", filepath.Join(src, ".tmp-over")))
	must(t, os.Rename(filepath.Join(src, ".tmp-over"), filepath.Join(src, "was-file")))
	want := map[string]string{"link": "target", "dangling": "nowhere", "moved": "target", "was-file": "target"}
	for rel, to := range want {
		eventually(t, rel+" published as a symlink", func() bool {
			got, err := os.Readlink(filepath.Join(dst, rel))
			return err == nil && got == to
		})
	}
	sum := stop()
	if sum.Failed != 0 || !sum.OK() {
		t.Fatalf("a new symlink was counted as a failure: %+v", sum)
	}
}
