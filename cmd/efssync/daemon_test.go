package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitFor polls cond while the process runs; it waits for another process,
// it asserts nothing about time.
func (s *started) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		select {
		case <-s.done:
			t.Fatalf("efssync exited while waiting for %s: %v\nstderr:\n%s", what, s.err, s.stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func httpGet(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestWatchDaemon runs the watch service the way systemd does: it serves
// metrics and health, survives a SIGHUP with a broken config, applies a
// SIGHUP with a good one, and exits 0 on SIGTERM.
func TestWatchDaemon(t *testing.T) {
	dir := t.TempDir()
	dirs := mkdirs(t, dir, "src", "a", "b")
	src, a, b := dirs[0], dirs[1], dirs[2]
	addr := freeAddr(t)
	// quiet: 10m: a followed file is published on its close only, so the
	// close is always seen and the replication lag observed.
	extra := "    mode: watch\n    quiet: 10m\n"
	cfg := writeConfig(t, dir, job{source: src, dests: []string{a}, extra: extra})
	withMetrics := func() {
		data, err := os.ReadFile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		data = append([]byte(fmt.Sprintf("metrics: {listen: %q}\n", addr)), data...)
		if err := os.WriteFile(cfg, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	withMetrics()
	s := start(t, "run", "--config", cfg)
	s.waitFor(t, "healthz", func() bool { code, _ := httpGet("http://" + addr + "/healthz"); return code == 200 })

	if err := os.WriteFile(filepath.Join(src, "one.ts"), []byte("first segment"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "one.ts at a", func() bool { _, err := os.Stat(filepath.Join(a, "one.ts")); return err == nil })
	// healthz answers before the watcher exists, so one.ts may have been
	// published by the initial pass, which observes no replication lag. The
	// watcher exists once one.ts is published: this file is followed.
	if err := os.WriteFile(filepath.Join(src, "followed.ts"), []byte("followed segment"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "metrics", func() bool {
		_, body := httpGet("http://" + addr + "/metrics")
		return strings.Contains(body, `efssync_files_total{dest="`+a+`",job="e2e"}`) &&
			strings.Contains(body, "efssync_replication_lag_seconds_bucket")
	})

	// A broken config on reload: the old one keeps running.
	good, _ := os.ReadFile(cfg)
	if err := os.WriteFile(cfg, []byte("jobs: [{name: x, exlude: oops}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// Signals coalesce, and a reload reads the file when it handles the
	// signal: the good config goes back only after this one was refused.
	s.waitFor(t, "the refused reload", func() bool { return strings.Contains(s.stderr.String(), "reload refused") })
	if err := os.WriteFile(filepath.Join(src, "two.ts"), []byte("second segment"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "two.ts at a after a refused reload", func() bool { _, err := os.Stat(filepath.Join(a, "two.ts")); return err == nil })

	// A good config with a second destination: it is caught up.
	os.WriteFile(cfg, good, 0o600)
	writeConfig(t, dir, job{source: src, dests: []string{a, b}, extra: extra})
	withMetrics()
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "reload to catch up b", func() bool {
		_, e1 := os.Stat(filepath.Join(b, "one.ts"))
		_, e2 := os.Stat(filepath.Join(b, "two.ts"))
		return e1 == nil && e2 == nil
	})

	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatal("no exit within 30 s of SIGTERM")
	}
	var ee *exec.ExitError
	if s.err != nil && !(errors.As(s.err, &ee) && ee.ExitCode() == 0) {
		t.Fatalf("exit after SIGTERM: %v\nstderr:\n%s", s.err, s.stderr.String())
	}
	if !strings.Contains(s.stderr.String(), "reload refused") {
		t.Errorf("the refused reload was not logged:\n%s", s.stderr.String())
	}
}
