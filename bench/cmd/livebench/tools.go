package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// proc is a replicator running in the background.
type proc struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
}

func startProc(name, logPath string, args ...string) (*proc, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s log: %w", name, err)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = lf, lf
	// Own process group, so that stopping it also stops the rsync or cp
	// children lsyncd spawns.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); lf.Close(); close(p.done) }()
	return p, nil
}

func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM to the process group and SIGKILL after grace.
func (p *proc) stop(grace time.Duration) {
	if !p.alive() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// startEfssync runs efssync in watch mode with the ordering rule of the
// stream's format and mirror deletes, replicating src to both destinations
// of one job.
func startEfssync(_ context.Context, bin, format, work, src string, dests []*dest, logs string) (*proc, error) {
	cfg := fmt.Sprintf(`state_dir: %s
jobs:
  - name: live
    source: %s
    mode: watch
    order: [%s]
    delete: mirror
    max_delete: "100%%"
    destinations:
`, filepath.Join(work, "efssync", "state"), src, format)
	for _, d := range dests {
		cfg += fmt.Sprintf("      - {type: fs, path: %s}\n", d.write)
	}
	path := filepath.Join(work, "efssync", "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return nil, fmt.Errorf("efssync config: %w", err)
	}
	return startProc("efssync", filepath.Join(logs, "efssync.log"), bin, "run", "--config", path)
}

// startLsyncd runs lsyncd at its lowest delay (0: lsyncd 2.2.3 accepts it
// and then starts an action as soon as an event arrives) with one sync per
// destination. mode "rsync" is default.rsync (archive=true), "direct" is
// default.direct, which uses cp/mv/rm for local targets.
func startLsyncd(_ context.Context, bin, mode, work, src string, dests []*dest, logs string) (*proc, error) {
	name := "lsyncd-" + mode
	dir := filepath.Join(work, name)
	cfg := fmt.Sprintf("settings {\n  nodaemon = true,\n  logfile = %s,\n  statusFile = %s,\n}\n",
		strconv.Quote(filepath.Join(logs, name+".lsyncd.log")), strconv.Quote(filepath.Join(dir, "status")))
	for _, d := range dests {
		switch mode {
		case "rsync":
			cfg += fmt.Sprintf("sync {\n  default.rsync,\n  source = %s,\n  target = %s,\n  delay = 0,\n  rsync = { archive = true },\n}\n",
				strconv.Quote(src), strconv.Quote(d.write))
		case "direct":
			cfg += fmt.Sprintf("sync {\n  default.direct,\n  source = %s,\n  target = %s,\n  delay = 0,\n}\n",
				strconv.Quote(src), strconv.Quote(d.write))
		}
	}
	path := filepath.Join(dir, "lsyncd.conf.lua")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return nil, fmt.Errorf("lsyncd config: %w", err)
	}
	return startProc(name, filepath.Join(logs, name+".log"), bin, "-nodaemon", path)
}

// waitReady writes a probe file into the source and waits until every
// replica holds it, so that the stream starts only once every tool has
// finished its startup scan and follows events.
func waitReady(ctx context.Context, src string, dests []*dest, procs []*proc) error {
	if err := os.MkdirAll(filepath.Join(src, "bulk"), 0o755); err != nil {
		return fmt.Errorf("mkdir bulk: %w", err)
	}
	probe := []byte("livebench probe " + time.Now().String())
	if err := os.WriteFile(filepath.Join(src, "probe.txt"), probe, 0o644); err != nil {
		return fmt.Errorf("write probe: %w", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, d := range dests {
		for {
			got, err := os.ReadFile(filepath.Join(d.read, "probe.txt"))
			if err == nil && bytes.Equal(got, probe) {
				if _, err := os.Stat(filepath.Join(d.read, "bulk")); err == nil {
					break
				}
			}
			for _, p := range procs {
				if !p.alive() {
					return fmt.Errorf("%s exited at startup; see %s", p.name, p.log)
				}
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("%s did not replicate the probe file within 60s", d.name())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err := os.Remove(filepath.Join(src, "probe.txt")); err != nil {
		return fmt.Errorf("remove probe: %w", err)
	}
	time.Sleep(time.Second) // let the deletes pass before the stream starts
	return nil
}

// manifestName is the manifest the encoder writes for format.
func manifestName(format string) string {
	if format == "dash" {
		return "live.mpd"
	}
	return "live.m3u8"
}

// runFFmpeg encodes a live test stream in format into src for the given
// duration and returns its command line. HLS segments are written in place
// (no temp_file flag) and each new playlist renamed into place; the DASH
// muxer writes segments and manifests as .tmp and renames them, keeping
// window_size segments in the manifest and extra_window_size more on disk.
func runFFmpeg(ctx context.Context, bin, format, src string, d time.Duration, logs string) ([]string, error) {
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc=size=1280x720:rate=25",
		"-t", strconv.FormatFloat(d.Seconds(), 'f', -1, 64),
		"-c:v", "libx264", "-preset", "ultrafast", "-b:v", "3M", "-maxrate", "3M", "-bufsize", "3M",
		"-g", "25", "-sc_threshold", "0"}
	if format == "dash" {
		args = append(args, "-f", "dash", "-window_size", "5", "-extra_window_size", "2", "-seg_duration", "1",
			"-use_template", "1", "-use_timeline", "1")
	} else {
		args = append(args, "-f", "hls", "-hls_time", "1", "-hls_list_size", "6", "-hls_flags", "delete_segments",
			"-hls_segment_filename", filepath.Join(src, "seg%05d.ts"))
	}
	args = append(args, filepath.Join(src, manifestName(format)))
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	logf("ffmpeg: %d s live %s stream", int(d.Seconds()), format)
	if err := cmd.Run(); err != nil {
		_ = os.WriteFile(filepath.Join(logs, "ffmpeg.log"), stderr.Bytes(), 0o644)
		return nil, fmt.Errorf("ffmpeg: %w: %s", err, stderr.String())
	}
	return append([]string{"ffmpeg"}, args...), nil
}

// settle waits until every replica's playlist equals the source's, or
// until timeout.
func settle(ctx context.Context, src, playlist string, dests []*dest, timeout time.Duration) {
	want, err := os.ReadFile(filepath.Join(src, playlist))
	if err != nil {
		return
	}
	deadline := time.Now().Add(timeout)
	for _, d := range dests {
		for time.Now().Before(deadline) && ctx.Err() == nil {
			got, err := os.ReadFile(filepath.Join(d.read, playlist))
			if err == nil && bytes.Equal(got, want) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if time.Now().After(deadline) {
		logf("some replica playlists did not converge within %s", timeout)
	}
}
