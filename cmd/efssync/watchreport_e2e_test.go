package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A watch agent's rescans report what they change, not every unchanged
// file again, and its summary counts files, not events. With order: [hls]
// the watcher ignores *.tmp files (an encoder's half-written playlists), so
// only a rescan publishes them: each one seen at the destination proves a
// rescan ran over the unchanged files.
func TestWatchRescansReportNoSkips(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dirs := mkdirs(t, dir, "src", "dst")
	src, dst := dirs[0], dirs[1]
	for _, n := range []string{"a.bin", "b.bin", "sub/c.bin"} {
		writeTestFile(t, filepath.Join(src, n), "data of "+n)
	}
	cfg := writeConfig(t, dir, job{source: src, dests: []string{dst}, extra: "    mode: watch\n    order: [hls]\n    rescan: 2s\n"})
	rep := filepath.Join(dir, "watch.jsonl")
	s := start(t, "run", "--config", cfg, "--report", rep)
	exists := func(rel string) func() bool {
		return func() bool { _, err := os.Stat(filepath.Join(dst, rel)); return err == nil }
	}
	s.waitFor(t, "the initial pass", exists("sub/c.bin"))
	for _, p := range []string{"probe1.tmp", "probe2.tmp"} {
		writeTestFile(t, filepath.Join(src, p), p)
		s.waitFor(t, p+" published by a rescan", exists(p))
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-s.done
	if s.err != nil {
		t.Fatalf("watch agent: %v\n%s", s.err, s.stderr.String())
	}
	skips := map[string]int{}
	for _, l := range readReport(t, rep) {
		if l.Status == "skipped" {
			skips[l.Path]++
		}
	}
	for p, n := range skips {
		if n > 1 {
			t.Errorf("%s reported skipped %d times: rescans repeat unchanged files", p, n)
		}
	}
	sum := finished(t, s.stderr.String())
	if f := num(t, sum, "files"); f != 5 {
		t.Errorf("summary counts %d files, want 5 (3 at the start, 2 found by rescans)\n%s", f, strings.TrimSpace(s.stderr.String()))
	}
}
