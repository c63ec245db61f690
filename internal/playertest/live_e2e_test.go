package playertest_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/efssync/efssync/agent"
	"github.com/efssync/efssync/agent/livefmt"
	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/internal/faultfs"
	"github.com/efssync/efssync/internal/playertest"
	"github.com/efssync/efssync/internal/testbin"
)

// liveCase is one end-to-end run: a real encoder writes a live stream,
// efssync replicates it in watch mode with delete: mirror to a plain
// directory and to a latency-injecting FUSE mount, a checker reads the
// manifests at the mount's backing directory (what a file server there
// serves), and a real player views the slow replica over HTTP.
type liveCase struct {
	format  string
	order   string // the job's order list
	publish string // atomic or progressive
	seconds int
	// player: "ffmpeg" (HLS), "dashjs" (DASH in Chromium) or "" (none).
	player string
}

func seconds(short int) int {
	if playertest.Acceptance() {
		return 120
	}
	return short
}

func TestLiveDASHOrdered(t *testing.T) {
	c := liveCase{format: playertest.DASH, order: "[dash]", publish: "atomic", seconds: seconds(20)}
	if playertest.Acceptance() {
		c.player = "dashjs"
	}
	r := c.run(t)
	r.mustBeClean(t)
}

func TestLiveHLSfMP4Ordered(t *testing.T) {
	c := liveCase{format: playertest.HLSfMP4, order: "[hls]", publish: "atomic", seconds: seconds(20), player: "ffmpeg"}
	r := c.run(t)
	r.mustBeClean(t)
}

func TestLiveHLSOneFileOrdered(t *testing.T) {
	c := liveCase{format: playertest.HLSOneFile, order: "[hls]", publish: "progressive", seconds: seconds(20), player: "ffmpeg"}
	r := c.run(t)
	r.mustBeClean(t)
}

// TestLiveDASHUnorderedViolates is the control: without the DASH rule the
// slow replica serves manifests that name segments it does not hold yet.
// It shows the checker sees what it claims to prevent.
func TestLiveDASHUnorderedViolates(t *testing.T) {
	if testing.Short() || !playertest.Acceptance() {
		t.Skip("control run: make acceptance-live")
	}
	c := liveCase{format: playertest.DASH, order: "[]", publish: "atomic", seconds: 40}
	r := c.run(t)
	if r.check.Early == 0 {
		t.Errorf("without ordering no manifest ran ahead of its segments: %+v", r.check)
	}
}

type liveResult struct {
	check      playertest.CheckReport
	playerErrs []string
	failed     []playertest.Request
	verdict    *playertest.Verdict
	played     float64
	seconds    int
}

func (r liveResult) mustBeClean(t *testing.T) {
	t.Helper()
	if r.check.Polls < 20 || r.check.Checked < 50 {
		t.Errorf("the checker saw too little: %+v", r.check)
	}
	// Two replicas, a new manifest per one-second segment at each: a
	// replica that held the manifest back until the stream ended would
	// pass every other check.
	if r.check.Versions < r.seconds {
		t.Errorf("the replicas served only %d manifest versions over a %d s stream", r.check.Versions, r.seconds)
	}
	if r.check.Violations > 0 {
		t.Errorf("%d manifest violations, %d of %d named files named early; first: %s",
			r.check.Violations, r.check.Early, r.check.Named, strings.Join(r.check.Examples, "; "))
	}
	for _, e := range r.playerErrs {
		t.Errorf("player: %s", e)
	}
	for _, f := range r.failed {
		t.Errorf("viewer request failed: %+v", f)
	}
	if v := r.verdict; v != nil {
		if !v.Started || v.Played < float64(r.seconds)-2 {
			t.Errorf("dash.js started %v and played to %.1f s of %d", v.Started, v.Played, r.seconds)
		}
		for _, e := range v.Errors {
			t.Errorf("dash.js error: %s", e.Detail)
		}
		for _, e := range v.Stalls {
			t.Errorf("dash.js stalled at media time %s", e.Detail)
		}
	}
}

func isMedia(rel string) bool {
	for _, ext := range []string{".mpd", ".m3u8", ".m4s", ".mp4", ".ts"} {
		if strings.HasSuffix(rel, ext) {
			return true
		}
	}
	return false
}

func (c liveCase) run(t *testing.T) liveResult {
	t.Helper()
	if testing.Short() {
		t.Skip("live stream")
	}
	ffmpeg := testbin.Find(t, "EFSSYNC_FFMPEG", "ffmpeg")
	dir := t.TempDir()
	src, plain := filepath.Join(dir, "src"), filepath.Join(dir, "plain")
	for _, d := range []string{src, plain} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	backing := t.TempDir()
	_, mnt := faultfs.Mount(t, backing, faultfs.ProfileNFS())
	if err := os.Mkdir(filepath.Join(mnt, "replica"), 0o755); err != nil {
		t.Fatal(err)
	}
	served := filepath.Join(backing, "replica") // what a file server on the slow replica reads

	stop := startAgent(t, dir, src, []string{plain, filepath.Join(mnt, "replica")}, c)
	defer stop()

	args, manifest, err := playertest.EncodeArgs(c.format, src, c.seconds)
	if err != nil {
		t.Fatal(err)
	}
	var rules livefmt.Rules
	if c.format == playertest.DASH {
		rules, _ = livefmt.New([]string{"dash"})
	} else {
		rules, _ = livefmt.New([]string{"hls"})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(c.seconds)*time.Second+3*time.Minute)
	defer cancel()
	srv := playertest.Serve(t, served)
	var viewer *playertest.Viewer
	if c.player == "dashjs" {
		viewer = playertest.StartDASH(ctx, t, srv, manifest, playertest.DASHOptions{Until: playertest.PlayedTo(float64(c.seconds) - 1)})
	}
	var checks []*playertest.Checker
	cctx, stopCheck := context.WithCancel(ctx)
	checkDone := make(chan struct{}, 2)
	for _, rep := range []string{served, plain} {
		ch := &playertest.Checker{Src: src, Replica: rep, Rules: rules, Manifests: []string{manifest}}
		checks = append(checks, ch)
		go func() { ch.Run(cctx, 20*time.Millisecond); checkDone <- struct{}{} }()
	}

	enc := exec.CommandContext(ctx, ffmpeg, args...)
	var encErr bytes.Buffer
	enc.Stderr = &encErr
	if err := enc.Start(); err != nil {
		t.Fatal(err)
	}
	var res liveResult
	res.seconds = c.seconds
	playerDone := make(chan struct{})
	go func() {
		defer close(playerDone)
		switch c.player {
		case "ffmpeg":
			waitExists(ctx, filepath.Join(served, manifest))
			res.playerErrs = playertest.PlayHLS(ctx, t, ffmpeg, srv.URL+"/"+manifest)
		case "dashjs":
			v := playertest.Judge(viewer.Wait(ctx, t))
			res.verdict = &v
		}
	}()
	if err := enc.Wait(); err != nil {
		t.Fatalf("encoder: %v\n%s", err, encErr.String())
	}
	<-playerDone
	for _, rep := range []string{served, plain} {
		converge(ctx, t, filepath.Join(src, manifest), filepath.Join(rep, manifest))
	}
	stopCheck()
	<-checkDone
	<-checkDone
	for _, ch := range checks {
		r := ch.Report()
		res.check.Polls += r.Polls
		res.check.Checked += r.Checked
		res.check.Violations += r.Violations
		res.check.Named += r.Named
		res.check.Early += r.Early
		res.check.Versions += r.Versions
		res.check.Examples = append(res.check.Examples, r.Examples...)
	}
	res.failed = playertest.Failures(srv.Requests(), isMedia)
	t.Logf("%s, %d s: checker %d polls, %d manifest versions, %d references, %d violations (%d of %d files named early); viewer %d requests",
		c.format, c.seconds, res.check.Polls, res.check.Versions, res.check.Checked, res.check.Violations, res.check.Early, res.check.Named, len(srv.Requests()))
	return res
}

// startAgent runs efssync in watch mode on src until stop.
func startAgent(t *testing.T, dir, src string, dests []string, c liveCase) (stop func()) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "state_dir: %s\njobs:\n  - name: live\n    source: %s\n    destinations:\n", filepath.Join(dir, "state"), src)
	for _, d := range dests {
		fmt.Fprintf(&b, "      - {type: fs, path: %s}\n", d)
	}
	fmt.Fprintf(&b, "    mode: watch\n    quiet: 30s\n    order: %s\n    delete: mirror\n    max_delete: \"100%%\"\n    publish: %s\n", c.order, c.publish)
	p := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(p, nil)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, b.String())
	}
	ready := make(chan struct{})
	a, err := agent.New(cfg, agent.Options{Log: slog.New(slog.DiscardHandler), Notify: func(s string) {
		if s == "READY=1" {
			close(ready)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := a.Run(ctx)
		done <- err
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("agent ended before it was ready: %v", err)
	}
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
		a.Close()
	}
}

// waitExists waits for a file the replication will bring.
func waitExists(ctx context.Context, p string) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(p); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// converge waits until the replica serves the source's final manifest.
func converge(ctx context.Context, t *testing.T, src, rep string) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		a, err1 := os.ReadFile(src)
		b, err2 := os.ReadFile(rep)
		if err1 == nil && err2 == nil && bytes.Equal(a, b) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never became the source's final manifest", rep)
		case <-tick.C:
		}
	}
}
