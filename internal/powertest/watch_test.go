package powertest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/efssync/efssync/agent"
	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/internal/faultfs"
	"github.com/efssync/efssync/internal/treetest"
)

// liveJob is the watch-mode job of the live-stream suite: HLS ordering,
// and the sliding window's deletes mirrored.
func liveJob(j *config.Job) {
	j.Mode = "watch"
	j.Order = []string{"hls"}
	j.Delete, j.MaxDelete = "mirror", "100%"
	j.Quiet = config.Duration(5 * time.Second)
}

// watcher is one watch-mode agent running on a world until stopped.
type watcher struct {
	ready  chan struct{}
	cancel context.CancelFunc
	done   chan error
}

// watch starts the job in watch mode. It is cancelled when the power
// goes off, like run.
func (w *world) watch(t *testing.T, cfg *config.Config) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	wt := &watcher{ready: make(chan struct{}), cancel: cancel, done: make(chan error, 1)}
	go func() {
		select {
		case <-w.f.PoweredOff():
			cancel()
		case <-ctx.Done():
		}
	}()
	var once sync.Once
	a, err := agent.New(cfg, agent.Options{Log: w.log, Notify: func(s string) {
		if s == "READY=1" {
			once.Do(func() { close(wt.ready) })
		}
	}})
	if err != nil {
		cancel()
		wt.done <- err
		return wt
	}
	go func() {
		_, err := a.Run(ctx)
		if cerr := a.Close(); err == nil {
			err = cerr
		}
		wt.done <- err
	}()
	return wt
}

// stop cancels the agent and returns how its run ended.
func (wt *watcher) stop() error {
	wt.cancel()
	return <-wt.done
}

// stream is a live HLS encoder's output, written into the source: each
// segment in two writes and closed, then the playlist rewritten through a
// rename, listing the last window segments, and the segment that left the
// window removed. Segments live in segs/, the playlist at the top, so
// that the two are entries of different directories.
type stream struct {
	src      string
	tmp      string // beside the source: where playlists are written before the rename
	segments int
	window   int
}

func (s stream) segment(i int) []byte {
	return bytes.Repeat([]byte{byte('a' + i%26)}, 6000+i*700)
}

func (s stream) playlist(first, last int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:%d\n", first)
	for i := first; i <= last; i++ {
		fmt.Fprintf(&b, "#EXTINF:1.0,\nsegs/seg%03d.ts\n", i)
	}
	return []byte(b.String())
}

// versions lists every content each path of the stream ever had.
func (s stream) versions() versions {
	v := versions{}
	for i := range s.segments {
		v[fmt.Sprintf("segs/seg%03d.ts", i)] = [][]byte{s.segment(i)}
		v["live.m3u8"] = append(v["live.m3u8"], s.playlist(max(0, i-s.window+1), i))
	}
	return v
}

// write plays the stream into the source.
func (s stream) write(t *testing.T) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(s.src, "segs"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range s.segments {
		f, err := os.Create(filepath.Join(s.src, "segs", fmt.Sprintf("seg%03d.ts", i)))
		if err != nil {
			t.Fatal(err)
		}
		data := s.segment(i)
		_, err1 := f.Write(data[:len(data)/2])
		_, err2 := f.Write(data[len(data)/2:])
		if err := firstErr(err1, err2, f.Close()); err != nil {
			t.Fatal(err)
		}
		first := max(0, i-s.window+1)
		tmp := filepath.Join(s.tmp, "live.m3u8")
		if err := os.WriteFile(tmp, s.playlist(first, i), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(s.src, "live.m3u8")); err != nil {
			t.Fatal(err)
		}
		if first > 0 {
			if err := os.Remove(filepath.Join(s.src, "segs", fmt.Sprintf("seg%03d.ts", first-1))); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkPlaylists fails when a playlist under its final name at dst lists
// a segment that is not there whole.
func checkPlaylists(t *testing.T, dst string, s stream, cut int64) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dst, "live.m3u8"))
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasSuffix(line, ".ts") {
			continue
		}
		var i int
		if _, err := fmt.Sscanf(line, "segs/seg%03d.ts", &i); err != nil {
			t.Errorf("cut after %d: playlist line %q: %v", cut, line, err)
			continue
		}
		got, err := os.ReadFile(filepath.Join(dst, line))
		if err != nil || !bytes.Equal(got, s.segment(i)) {
			t.Errorf("cut after %d: the playlist lists %s, which is missing or incomplete (%v)", cut, line, err)
		}
	}
}

// converged waits until the destination holds what the source holds:
// the watch agent has caught up with the stream.
func converged(src, dst string) bool {
	a, errA := os.ReadFile(filepath.Join(src, "live.m3u8"))
	b, errB := os.ReadFile(filepath.Join(dst, "live.m3u8"))
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		return false
	}
	sa, _ := os.ReadDir(filepath.Join(src, "segs"))
	sb, _ := os.ReadDir(filepath.Join(dst, "segs"))
	return len(sa) == len(sb)
}

// waitFor polls cond (the agent's goroutines, not a duration, are waited
// for) until it holds, the power goes off, or a generous limit passes.
func waitFor(f *faultfs.FS, cond func() bool) bool {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		select {
		case <-f.PoweredOff():
			return false
		case <-time.After(2 * time.Millisecond):
		}
	}
	return false
}

// liveOnce runs the stream into a fresh source under a watch agent on a
// fresh copy of template, with the power cut after n changes (n < 0: no
// cut). It returns the world (still mounted) and the source.
func liveOnce(t *testing.T, template string, s stream, n int64) (*world, stream) {
	t.Helper()
	s.src, s.tmp = memDir(t), memDir(t)
	w := setUp(t, template, s.src)
	if n >= 0 {
		w.f.CutAfter(n)
	}
	cfg := w.config(t, liveJob)
	wt := w.watch(t, cfg)
	select {
	case <-wt.ready:
	case <-w.f.PoweredOff():
	}
	s.write(t)
	dst := filepath.Join(w.mnt, "dst")
	if !waitFor(w.f, func() bool { return converged(s.src, dst) }) && n < 0 {
		t.Fatalf("the uncut watch run did not catch up with the stream")
	}
	err := wt.stop()
	if n < 0 && err != nil {
		t.Fatalf("uncut watch run: %v", err)
	}
	return w, s
}

// TestPowerCutDuringLiveStream cuts the power while a watch-mode agent
// follows a live HLS stream (segments written, playlist renamed into
// place, the oldest segment removed) with state_dir and the destination
// on one power-loss mount. After each cut: every file under a final name
// is a version the source had, the durable playlist lists only segments
// that are durable and whole, and a restarted watch agent's initial pass
// makes the destination equal the source.
func TestPowerCutDuringLiveStream(t *testing.T) {
	tmpl := emptyTemplate(t)
	s := stream{segments: 10, window: 4}
	v := s.versions()
	w, _ := liveOnce(t, tmpl, s, -1)
	total := w.f.Changes()
	if err := w.f.Close(); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	t.Logf("an uncut live run makes %d state-changing operations", total)
	// Watch mode is not deterministic: the agent sees the writer's events
	// in batches that vary from run to run, so a cut point is a place in
	// the run, not one exact operation. Cuts go a little past the uncut
	// count, for runs that take more steps.
	const step = 2
	cuts := 0
	for n := int64(0); n < total+total/10; n += step {
		w, s := liveOnce(t, tmpl, s, n)
		if err := w.f.PowerCut(); err != nil {
			t.Fatalf("cut after %d: %v; open on the mount: %v", n, err, openOn(w.mnt))
		}
		w.f = faultfs.Remount(t, w.f)
		dst := filepath.Join(w.mnt, "dst")
		checkWhole(t, dst, v, n)
		checkPlaylists(t, dst, s, n)
		wt := w.watch(t, w.config(t, liveJob))
		select {
		case <-wt.ready:
		case err := <-wt.done:
			t.Errorf("cut after %d: the restarted watch run ended: %v", n, err)
		}
		if err := wt.stop(); err != nil {
			t.Errorf("cut after %d: the restarted watch run: %v", n, err)
		}
		treetest.Equal(t, s.src, dst)
		if err := w.f.Close(); err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		cuts++
		if t.Failed() {
			t.Fatalf("first failure at the cut after %d of about %d changes", n, total)
		}
	}
	t.Logf("%d cut points", cuts)
}

// openOn lists this process's descriptors open on the mount, to name
// what keeps it busy.
func openOn(mnt string) []string {
	var out []string
	des, _ := os.ReadDir("/proc/self/fd")
	for _, de := range des {
		p, err := os.Readlink(filepath.Join("/proc/self/fd", de.Name()))
		if err == nil && strings.HasPrefix(p, mnt) {
			out = append(out, p)
		}
	}
	return out
}
