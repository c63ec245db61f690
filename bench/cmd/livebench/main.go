// Command livebench measures the viewer-visible lag of live HLS or
// MPEG-DASH replication: a real ffmpeg encoder writes a live stream into a source
// directory, efssync (watch mode) and lsyncd replicate it each to a plain
// tmpfs directory and to a latency-injecting FUSE mount (a simulated
// EFS/NFS), and a poller records, every 2 ms, when each segment first
// appears in the source playlist and in each replica's playlist, and
// whether a replica ever lists a segment it does not hold whole. A second
// measurement writes a large file at a steady rate and times how long after
// close() each replica holds it whole.
//
//	livebench -efssync PATH [-format hls|dash] [-duration 60s] [-profile nfs] [-lsyncd-modes rsync,direct] [-json FILE] [-md FILE]
//
// It needs root (or fusermount3) and /dev/fuse for the mounts, ffmpeg with
// libx264, and lsyncd with rsync.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/efssync/efssync/agent/livefmt"
	"github.com/efssync/efssync/internal/faultfs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "livebench:", err)
		os.Exit(1)
	}
}

// options are the command-line settings.
type options struct {
	efssync, lsyncd, ffmpeg string
	format                  string // hls or dash
	duration                time.Duration
	profile                 string
	lsyncdModes             []string
	bigSize                 int64
	bigRate                 float64
	bigTimeout              time.Duration
	jsonOut, mdOut          string
	work                    string
	keep                    bool
	every                   time.Duration
}

// Report is the JSON output: settings and both measurements.
type Report struct {
	Date        string       `json:"date"`
	Format      string       `json:"format"`
	Duration    string       `json:"duration"`
	Profile     string       `json:"profile"`
	PollEvery   string       `json:"poll_every"`
	Polls       int          `json:"polls"`
	MaxPollMs   float64      `json:"max_poll_ms"`
	FFmpeg      []string     `json:"ffmpeg"`
	LsyncdModes []string     `json:"lsyncd_modes"`
	Live        []LiveResult `json:"live"`
	BigMiB      int64        `json:"big_mib"`
	BigRateMiBs float64      `json:"big_rate_mib_s"`
	Big         []BigResult  `json:"big"`
}

func parseFlags() (*options, error) {
	o := &options{}
	var modes string
	var bigMiB int64
	flag.StringVar(&o.efssync, "efssync", "efssync", "efssync binary")
	flag.StringVar(&o.lsyncd, "lsyncd", "lsyncd", "lsyncd binary")
	flag.StringVar(&o.ffmpeg, "ffmpeg", "ffmpeg", "ffmpeg binary")
	flag.StringVar(&o.format, "format", "hls", "stream format: hls (MPEG-TS segments) or dash (fMP4, SegmentTimeline)")
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "length of the live stream")
	flag.StringVar(&o.profile, "profile", "nfs", "latency profile of the FUSE destinations (nfs, efs, none)")
	flag.StringVar(&modes, "lsyncd-modes", "rsync", "lsyncd layers to run, comma-separated: rsync (default.rsync), direct (default.direct); empty for none")
	flag.Int64Var(&bigMiB, "big-mib", 500, "size of the large file in MiB; 0 skips that measurement")
	flag.Float64Var(&o.bigRate, "big-rate", 50, "rate at which the large file is written, MiB/s")
	flag.DurationVar(&o.bigTimeout, "big-timeout", 60*time.Second, "how long after close to wait for each replica of the large file")
	flag.StringVar(&o.jsonOut, "json", "", "write the results as JSON here")
	flag.StringVar(&o.mdOut, "md", "", "write the markdown tables here (they are always printed)")
	flag.StringVar(&o.work, "work", "", "work directory (default: a new directory in /dev/shm)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory")
	flag.DurationVar(&o.every, "poll", 2*time.Millisecond, "poll interval")
	flag.Parse()
	for _, m := range strings.Split(modes, ",") {
		switch m = strings.TrimSpace(m); m {
		case "":
		case "rsync", "direct":
			o.lsyncdModes = append(o.lsyncdModes, m)
		default:
			return nil, fmt.Errorf("-lsyncd-modes: unknown mode %q (rsync, direct)", m)
		}
	}
	if o.format != "hls" && o.format != "dash" {
		return nil, fmt.Errorf("-format: unknown format %q (hls, dash)", o.format)
	}
	o.bigSize = bigMiB << 20
	o.bigRate *= 1 << 20
	return o, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s livebench: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

func run(ctx context.Context) error {
	o, err := parseFlags()
	if err != nil {
		return err
	}
	for _, b := range []string{o.efssync, o.ffmpeg, "rsync"} {
		if _, err := exec.LookPath(b); err != nil {
			return fmt.Errorf("%s: %w", b, err)
		}
	}
	if len(o.lsyncdModes) > 0 {
		if _, err := exec.LookPath(o.lsyncd); err != nil {
			return fmt.Errorf("%s: %w", o.lsyncd, err)
		}
	}
	opts, err := faultfs.Profile(o.profile)
	if err != nil {
		return err
	}

	work := o.work
	if work == "" {
		if work, err = os.MkdirTemp("/dev/shm", "livebench-"); err != nil {
			return fmt.Errorf("work directory: %w", err)
		}
	}
	if !o.keep {
		defer os.RemoveAll(work)
	}
	src := filepath.Join(work, "src")
	logs := filepath.Join(work, "logs")
	for _, d := range []string{src, logs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("mkdir %s: %w", d, err)
		}
	}

	// One plain directory and one FUSE mount per tool.
	tools := []string{"efssync"}
	for _, m := range o.lsyncdModes {
		tools = append(tools, "lsyncd-"+m)
	}
	var dests []*dest
	byTool := map[string][]*dest{}
	for _, tool := range tools {
		plain := filepath.Join(work, tool, "plain")
		backing := filepath.Join(work, tool, "backing")
		mnt := filepath.Join(work, tool, "mnt")
		for _, d := range []string{plain, backing, mnt} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("mkdir %s: %w", d, err)
			}
		}
		fsys, err := faultfs.Start(backing, mnt, opts)
		if err != nil {
			return err
		}
		defer func() {
			for range 50 {
				if err := fsys.Close(); err == nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
			logf("could not unmount %s", mnt)
		}()
		if err := os.Mkdir(filepath.Join(mnt, "dst"), 0o755); err != nil {
			return fmt.Errorf("mkdir in mount: %w", err)
		}
		pd := &dest{tool: tool, kind: "plain", write: plain, read: plain}
		fd := &dest{tool: tool, kind: "fuse", write: filepath.Join(mnt, "dst"), read: filepath.Join(backing, "dst")}
		dests = append(dests, pd, fd)
		byTool[tool] = []*dest{pd, fd}
	}

	// The replicators.
	var procs []*proc
	defer func() {
		for _, p := range procs {
			p.stop(10 * time.Second)
		}
	}()
	p, err := startEfssync(ctx, o.efssync, o.format, work, src, byTool["efssync"], logs)
	if err != nil {
		return err
	}
	procs = append(procs, p)
	for _, m := range o.lsyncdModes {
		p, err := startLsyncd(ctx, o.lsyncd, m, work, src, byTool["lsyncd-"+m], logs)
		if err != nil {
			return err
		}
		procs = append(procs, p)
	}
	if err := waitReady(ctx, src, dests, procs); err != nil {
		return err
	}
	logf("all replicators follow %s", src)

	// The live stream.
	rep := &Report{Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), Format: o.format, Duration: o.duration.String(), Profile: o.profile,
		PollEvery: o.every.String(), LsyncdModes: o.lsyncdModes, BigMiB: o.bigSize >> 20, BigRateMiBs: o.bigRate / (1 << 20)}
	manifest := manifestName(o.format)
	rules, err := livefmt.New([]string{o.format})
	if err != nil {
		return err
	}
	pl := newPoller(src, manifest, rules, dests)
	stopPoll := make(chan struct{})
	pollDone := make(chan struct{})
	go func() { defer close(pollDone); pl.run(stopPoll, o.every) }()
	rep.FFmpeg, err = runFFmpeg(ctx, o.ffmpeg, o.format, src, o.duration, logs)
	if err != nil {
		close(stopPoll)
		<-pollDone
		return err
	}
	logf("ffmpeg done; waiting for the replicas to publish the final manifest")
	settle(ctx, src, manifest, dests, 15*time.Second)
	// Give the poller a few more rounds: the last replica may have
	// converged after its last poll.
	time.Sleep(50 * o.every)
	close(stopPoll)
	<-pollDone
	rep.Polls, rep.MaxPollMs = pl.polls, ms(pl.maxPoll)
	rep.Live = liveResults(pl)
	for _, p := range procs {
		if !p.alive() {
			return fmt.Errorf("%s exited during the live stream; see %s", p.name, p.log)
		}
	}

	// The large file.
	if o.bigSize > 0 {
		logf("big file: %d MiB at %.0f MiB/s", o.bigSize>>20, o.bigRate/(1<<20))
		rep.Big, err = runBig(ctx, src, "bulk/big.bin", o.bigSize, o.bigRate, dests, o.bigTimeout, logf)
		if err != nil {
			return err
		}
		_ = os.Remove(filepath.Join(src, "bulk/big.bin"))
	}

	var md strings.Builder
	writeMarkdown(&md, rep.Live, rep.Big, o.bigSize, o.bigRate/(1<<20))
	fmt.Fprintf(&md, "- poller: %d polls over the stream (one every %s planned), longest poll %.0f ms (a long poll delays both the source and the replica stamps it takes)\n",
		rep.Polls, o.every, rep.MaxPollMs)
	fmt.Print(md.String())
	if o.mdOut != "" {
		if err := os.WriteFile(o.mdOut, []byte(md.String()), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", o.mdOut, err)
		}
	}
	if o.jsonOut != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return fmt.Errorf("encode json: %w", err)
		}
		if err := os.WriteFile(o.jsonOut, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", o.jsonOut, err)
		}
	}
	for _, p := range procs {
		if !p.alive() {
			return fmt.Errorf("%s exited early; see %s", p.name, p.log)
		}
	}
	return nil
}
