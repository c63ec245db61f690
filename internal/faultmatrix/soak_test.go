//go:build soak

package faultmatrix

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/internal/faultfs"
	"github.com/efssync/efssync/internal/testbin"
)

// soakSettings reads SOAK_DURATION (default 10m) and SOAK_SEED.
func soakSettings(t *testing.T) (time.Duration, uint64) {
	d := 10 * time.Minute
	if s := os.Getenv("SOAK_DURATION"); s != "" {
		v, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("SOAK_DURATION=%q: %v", s, err)
		}
		d = v
	}
	seed := uint64(1)
	if s := os.Getenv("SOAK_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SOAK_SEED=%q: %v", s, err)
		}
		seed = v
	}
	return d, seed
}

// soakFault is one fault the soak injects for a few seconds, then clears.
type soakFault struct {
	name  string
	arm   func()
	clear func()
	// progress counts what the faulted destination completed, to tell
	// that it recovered: it grows again after the clear.
	progress func() int64
}

// TestSoak is `make soak`: a watch-mode job follows a live ffmpeg HLS
// stream and a recorder writing large files, into an fs destination on
// faultfs and an S3 destination through Toxiproxy, while a seeded random
// fault hits one of them every few seconds. At the end every destination
// equals the source, no playlist at the fs destination ever listed a
// segment it lacked, and no file was lost.
func TestSoak(t *testing.T) {
	dur, seed := soakSettings(t)
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		testbin.Missing(t, "ffmpeg: "+err.Error())
	}
	s3w := newS3World(t)
	backing := t.TempDir()
	dfs, mnt := faultfs.Mount(t, backing, faultfs.Options{CacheTimeout: -1})
	dst := filepath.Join(mnt, "dst")
	for _, d := range []string{dst, filepath.Join(s3w.src, "live"), filepath.Join(s3w.src, "rec")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	j := config.Job{Name: "soak", Source: s3w.src, Mode: "watch", Delete: "mirror", MaxDelete: "100%", Order: []string{"hls"},
		Rescan: config.Duration(2 * time.Second), Quiet: config.Duration(time.Second),
		Destinations: []config.Destination{{Type: "fs", Path: dst},
			{Type: "s3", S3Location: config.S3Location{Bucket: s3w.bucket, Prefix: "rec", Endpoint: "http://" + s3w.toxi.Addr, PathStyle: true}, PartSize: 5 << 20}}}
	cfg := finish(t, &config.Config{StateDir: s3w.state, Jobs: []config.Job{j}})
	wa := startWatch(t, cfg)

	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var wg sync.WaitGroup
	// The live stream.
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc=size=320x180:rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440",
		"-c:v", "libx264", "-preset", "ultrafast", "-b:v", "1M", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0",
		"-c:a", "aac", "-b:a", "64k",
		"-f", "hls", "-hls_time", "1", "-hls_list_size", "6", "-hls_flags", "delete_segments+temp_file",
		"-hls_segment_filename", filepath.Join(s3w.src, "live", "seg%05d.ts"),
		filepath.Join(s3w.src, "live", "live.m3u8"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	// The recorder: large files written in 1 MiB pieces, the oldest of
	// more than three removed.
	var recorded atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		recorder(ctx, t, filepath.Join(s3w.src, "rec"), seed, &recorded)
	}()
	// The playlist checker on the fs destination.
	var violations, polls atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		checkPlaylists(ctx, filepath.Join(backing, "dst", "live"), &violations, &polls, t)
	}()
	// The faults.
	renames := func() int64 { return dfs.Counts()["rename"] - dfs.Injected() }
	stored := s3w.fp.stored.Load
	faults := []soakFault{
		{"fs: EIO on write", func() { _ = dfs.FailOp("write", syscall.EIO, -1) }, dfs.ClearFaults, renames},
		{"fs: EIO on fsync", func() { _ = dfs.FailOp("fsync", syscall.EIO, -1) }, dfs.ClearFaults, renames},
		{"fs: EIO on rename", func() { _ = dfs.FailOp("rename", syscall.EIO, -1) }, dfs.ClearFaults, renames},
		{"fs: ENOSPC on write", func() { _ = dfs.FailOp("write", syscall.ENOSPC, -1) }, dfs.ClearFaults, renames},
		{"s3: 503 SlowDown", func() { s3w.fp.status.Store(http.StatusServiceUnavailable); s3w.fp.fail.Store(8) }, func() { s3w.fp.fail.Store(0) }, stored},
		{"s3: 500", func() { s3w.fp.status.Store(http.StatusInternalServerError); s3w.fp.fail.Store(8) }, func() { s3w.fp.fail.Store(0) }, stored},
		{"s3: connection reset", func() { s3w.toxic = s3w.toxi.ResetPeer("upstream", 0) }, func() { s3w.toxi.Remove(s3w.toxic) }, stored},
		{"s3: stalled connection", func() { s3w.toxic = s3w.toxi.Stall("upstream", 300) }, func() { s3w.toxi.Remove(s3w.toxic) }, stored},
		{"s3: MinIO restart", s3w.srv.Stop, func() { s3w.srv.Restart(t) }, stored},
		{"agent restart", func() {
			if err := wa.stop(); err != nil {
				t.Errorf("stopped watch run: %v", err)
			}
		}, func() { wa = startWatch(t, cfg) }, func() int64 { return renames() + stored() }},
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	injected := map[string]int{}
	total, recovered := 0, 0
	var last *soakFault // the fault cleared last, and its progress then
	var lastMark int64
	checkRecovered := func() {
		if last != nil && last.progress() > lastMark {
			recovered++
		} else if last != nil {
			t.Logf("no progress at the destination since %s cleared", last.name)
		}
		last = nil
	}
	for ctx.Err() == nil {
		// A fault every 3-6 s, held 1-3 s. The destination it hit must
		// have completed something again before the next one.
		if !pause(ctx, time.Duration(3000+rng.IntN(3000))*time.Millisecond) {
			break
		}
		checkRecovered()
		f := faults[rng.IntN(len(faults))]
		f.arm()
		injected[f.name]++
		total++
		pause(context.Background(), time.Duration(1000+rng.IntN(2000))*time.Millisecond)
		lastMark = f.progress()
		f.clear()
		last = &f
	}
	if err := cmd.Wait(); err != nil && ctx.Err() == nil {
		t.Errorf("ffmpeg: %v\n%s", err, stderr.String())
	}
	wg.Wait()
	// The stream and the recorder stopped; the agent must catch up with
	// what they left: every source file at both destinations.
	start := time.Now()
	if !settled(func() bool { return len(missing(s3w.src, dst, nil)) == 0 }) {
		t.Errorf("the fs destination lacks: %v", missing(s3w.src, dst, nil))
	}
	if !settled(func() bool { return len(missing(s3w.src, "", s3w.objects(t))) == 0 }) {
		t.Errorf("the bucket lacks: %v", missing(s3w.src, "", s3w.objects(t)))
	}
	settle := time.Since(start)
	if last != nil {
		recovered++ // every source file reached both destinations after it cleared
	}
	if err := wa.stop(); err != nil {
		t.Errorf("watch run: %v", err)
	}
	srcFiles, err := files(s3w.src)
	if err != nil {
		t.Fatal(err)
	}
	lost := len(missing(s3w.src, dst, nil)) + len(missing(s3w.src, "", s3w.objects(t)))
	// Files the source removed that watch mode left behind (a delete that
	// failed under a fault is not retried by a rescan: issue 11, D6). A
	// once-mode run's mirror delete must then leave both equal.
	extraFS, extraS3 := extras(s3w.src, dst, nil), extras(s3w.src, "", s3w.objects(t))
	if len(extraFS)+len(extraS3) > 0 {
		t.Logf("left by watch mode: fs %v, s3 %v", extraFS, extraS3)
	}
	once := *cfg
	once.Jobs = []config.Job{cfg.Jobs[0]}
	once.Jobs[0].Mode = "once"
	if ok, err := runOnce(context.Background(), t, &once); !ok {
		t.Errorf("the once-mode run after the soak: %v", err)
	}
	if !same(s3w.src, dst) || !s3w.equal(t) {
		t.Errorf("after the once-mode run the destinations differ from the source: %v", differences(s3w.src, dst))
	}
	names := make([]string, 0, len(injected))
	for n, c := range injected {
		names = append(names, fmt.Sprintf("%s ×%d", n, c))
	}
	report := fmt.Sprintf("soak: %s, seed %d: faults injected %d (%s), faults recovered %d, files lost %d, "+
		"playlist violations %d (%d polls), recordings %d, files at the end %d, settled %s after the load stopped, "+
		"removed files left by watch mode fs %d s3 %d",
		dur, seed, total, strings.Join(names, ", "), recovered, lost, violations.Load(), polls.Load(), recorded.Load(),
		len(srcFiles), settle.Round(100*time.Millisecond), len(extraFS), len(extraS3))
	t.Log(report)
	fmt.Println(report)
	if lost > 0 || violations.Load() > 0 {
		t.Errorf("files lost %d, playlist violations %d", lost, violations.Load())
	}
}

// pause waits d or until ctx ends; it reports whether d passed. The
// soak's load and faults are paced in wall-clock time on purpose.
func pause(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// recorder writes 24 MiB recordings in 1 MiB pieces, about 8 MiB/s,
// keeping the newest three.
func recorder(ctx context.Context, t *testing.T, dir string, seed uint64, n *atomic.Int64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	piece := make([]byte, 1<<20)
	for i := 0; ctx.Err() == nil; i++ {
		p := filepath.Join(dir, fmt.Sprintf("rec%04d.bin", i))
		f, err := os.Create(p)
		if err != nil {
			t.Errorf("recorder: %v", err)
			return
		}
		for k := 0; k < 24 && ctx.Err() == nil; k++ {
			for b := range piece {
				piece[b] = byte(rng.Uint32())
			}
			if _, err := f.Write(piece); err != nil {
				t.Errorf("recorder: %v", err)
			}
			pause(ctx, 125*time.Millisecond)
		}
		if err := f.Close(); err != nil {
			t.Errorf("recorder: %v", err)
		}
		n.Add(1)
		if i >= 3 {
			_ = os.Remove(filepath.Join(dir, fmt.Sprintf("rec%04d.bin", i-3)))
		}
	}
}

// checkPlaylists polls the destination's playlist (past the mount, so an
// injected fault does not blind it) and counts a violation when a listed
// segment is missing while the same playlist is still published after
// the look.
func checkPlaylists(ctx context.Context, dir string, violations, polls *atomic.Int64, t *testing.T) {
	for pause(ctx, 50*time.Millisecond) {
		polls.Add(1)
		pl := filepath.Join(dir, "live.m3u8")
		before, err := os.ReadFile(pl)
		if err != nil {
			continue
		}
		var missing []string
		for _, line := range strings.Split(string(before), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if _, err := os.Stat(filepath.Join(dir, line)); err != nil {
				missing = append(missing, line)
			}
		}
		if len(missing) == 0 {
			continue
		}
		after, err := os.ReadFile(pl)
		if err == nil && bytes.Equal(before, after) {
			violations.Add(1)
			t.Logf("playlist violation: %s lists %v, missing", pl, missing)
		}
	}
}

// settled polls cond for up to two minutes after the load stopped.
func settled(cond func() bool) bool {
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// differences names up to 20 paths where dst differs from src.
func differences(src, dst string) []string {
	a, errA := files(src)
	b, errB := files(dst)
	if errA != nil || errB != nil {
		return []string{fmt.Sprint(errA, errB)}
	}
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok {
			out = append(out, k+": missing")
		} else if !bytes.Equal(v, w) {
			out = append(out, fmt.Sprintf("%s: %d bytes, want %d", k, len(w), len(v)))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k+": not in the source")
		}
	}
	return out[:min(len(out), 20)]
}

// missing names the source files a destination lacks or holds other
// bytes of: the fs destination dst, or the objects got.
func missing(src, dst string, got map[string][]byte) []string {
	a, err := files(src)
	if err != nil {
		return []string{err.Error()}
	}
	if got == nil {
		if got, err = files(dst); err != nil {
			return []string{err.Error()}
		}
	}
	var out []string
	for k, v := range a {
		if !bytes.Equal(v, got[k]) {
			out = append(out, k)
		}
	}
	return out
}

// extras names what a destination holds that the source no longer has.
func extras(src, dst string, got map[string][]byte) []string {
	a, err := files(src)
	if err != nil {
		return []string{err.Error()}
	}
	if got == nil {
		if got, err = files(dst); err != nil {
			return []string{err.Error()}
		}
	}
	var out []string
	for k := range got {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}
