package agent

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/efssync/efssync/internal/faultfs"
	"github.com/efssync/efssync/internal/testbin"
	"github.com/efssync/efssync/internal/treetest"
)

// needTool finds a program the test cannot do without: in CI its absence
// fails the test, elsewhere it skips with the install hint.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testbin.Missing(t, fmt.Sprintf("%s: %v", name, err))
	}
	return p
}

// playlistChecker polls every destination playlist and records each moment
// at which a listed segment is missing there or differs from the source.
type playlistChecker struct {
	src    string
	dests  []string
	mu     sync.Mutex
	bad    []string
	polls  int
	listed int // segment references checked
}

func (c *playlistChecker) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, d := range c.dests {
			c.check(d)
		}
	}
}

func (c *playlistChecker) check(d string) {
	c.mu.Lock()
	c.polls++
	c.mu.Unlock()
	des, _ := os.ReadDir(d)
	for _, de := range des {
		if !strings.HasSuffix(de.Name(), ".m3u8") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(d, de.Name()))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			c.mu.Lock()
			c.listed++
			c.mu.Unlock()
			// A violation counts only if the playlist read before the
			// segment is still the one published after it: otherwise a
			// newer version may have dropped the segment in between.
			stillListed := func() bool {
				again, err := os.ReadFile(filepath.Join(d, de.Name()))
				return err == nil && bytes.Equal(again, data)
			}
			got, err := os.ReadFile(filepath.Join(d, line))
			if err != nil {
				if stillListed() {
					c.fail("%s lists %s, missing at %s", de.Name(), line, d)
				}
				continue
			}
			// A listed segment is finished at the source; if the encoder
			// has not deleted it yet, the replica must equal it.
			want, err := os.ReadFile(filepath.Join(c.src, line))
			if err == nil && !bytes.Equal(got, want) && stillListed() {
				c.fail("%s lists %s, incomplete at %s (%d of %d bytes)", de.Name(), line, d, len(got), len(want))
			}
		}
	}
}

func (c *playlistChecker) fail(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.bad) < 20 {
		c.bad = append(c.bad, fmt.Sprintf(format, args...))
	}
}

// TestLiveHLSFromFFmpeg replicates a real encoder's live HLS stream, with
// segments written in place, to a plain directory and to a latency-injecting
// FUSE mount, while a checker watches that no replica playlist ever lists a
// segment the replica does not hold whole.
func TestLiveHLSFromFFmpeg(t *testing.T) {
	if testing.Short() {
		t.Skip("30 s live stream")
	}
	ffmpeg := needTool(t, "ffmpeg")
	f := newFixture(t, 1)
	backing := t.TempDir()
	_, mnt := faultfs.Mount(t, backing, faultfs.ProfileNFS())
	slow := filepath.Join(mnt, "replica")
	must(t, os.Mkdir(slow, 0o755))
	f.dests = append(f.dests, slow)
	f.extra = "    order: [hls]\n    delete: mirror\n    max_delete: \"100%\"\n"
	ready, stop := f.startWatch(t)
	<-ready

	checker := &playlistChecker{src: f.src, dests: f.dests}
	cctx, stopCheck := context.WithCancel(context.Background())
	checkDone := make(chan struct{})
	go func() { defer close(checkDone); checker.run(cctx, 20*time.Millisecond) }()

	seconds := 30
	cmd := exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc=size=320x180:rate=25:duration=%d", seconds),
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:duration=%d", seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-b:v", "1M", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0",
		"-c:a", "aac", "-b:a", "64k",
		"-f", "hls", "-hls_time", "1", "-hls_list_size", "6", "-hls_flags", "delete_segments",
		"-hls_segment_filename", filepath.Join(f.src, "seg%05d.ts"),
		filepath.Join(f.src, "live.m3u8"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, stderr.String())
	}
	// Let the replicas settle: the final playlist and the last deletes.
	for _, d := range f.dests {
		eventually(t, "replica to converge on "+d, func() bool {
			a := treetest.Snapshot(t, f.src, nil)
			b := treetest.Snapshot(t, d, func(n string) bool { return strings.HasPrefix(n, ".efssync-tmp-") })
			if len(a) != len(b) {
				return false
			}
			for k, ea := range a {
				if eb, ok := b[k]; !ok || !bytes.Equal(ea.Content, eb.Content) {
					return false
				}
			}
			return true
		})
	}
	stopCheck()
	<-checkDone
	stop()
	if checker.polls < 100 || checker.listed < 500 {
		t.Errorf("checker polled only %d times and checked %d segment references", checker.polls, checker.listed)
	}
	t.Logf("checker: %d polls, %d segment references checked", checker.polls, checker.listed)
	for _, b := range checker.bad {
		t.Error("playlist ran ahead of its segments: " + b)
	}
	for _, d := range f.dests {
		treetest.Equal(t, f.src, d)
	}
}
