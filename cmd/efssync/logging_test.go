package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/efssync/efssync/agent"
)

// A log line clears the progress bar, and the bar is drawn again after it;
// once the bar is finished (newline), log lines are written plainly.
func TestLogLinesClearAndRedrawTheProgressBar(t *testing.T) {
	var out bytes.Buffer
	s := &statusLine{w: &out}
	bar := s.Progress()
	log := slog.New(slog.NewTextHandler(s, &slog.HandlerOptions{ReplaceAttr: dropTime}))
	bar.Write([]byte("\r\033[K3 files"))
	log.Warn("slow destination")
	want := "\r\033[K3 files" + "\r\033[K" + "level=WARN msg=\"slow destination\"\n" + "\r\033[K3 files"
	if got := out.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	out.Reset()
	bar.Write([]byte("\n"))
	log.Info("done")
	if got := out.String(); got != "\nlevel=INFO msg=done\n" {
		t.Errorf("after the bar ended: %q", got)
	}
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func TestJournalPriorityPrefixes(t *testing.T) {
	var out bytes.Buffer
	pw := &priorityWriter{w: &out}
	log := slog.New(&priorityHandler{inner: slog.NewJSONHandler(pw, &slog.HandlerOptions{Level: slog.LevelDebug}), pw: pw}).With("job", "j")
	log.Debug("d")
	log.Info("i")
	log.Warn("w")
	log.Error("e")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for i, pre := range []string{"<7>{", "<6>{", "<4>{", "<3>{"} {
		if !strings.HasPrefix(lines[i], pre) || !strings.Contains(lines[i], `"job":"j"`) {
			t.Errorf("line %d %q: want prefix %s and the job attribute", i, lines[i], pre)
		}
	}
}

// Without a terminal, progress becomes a structured log line.
func TestStatsLoggerLogsProgress(t *testing.T) {
	var out bytes.Buffer
	s := statsLogger{log: slog.New(slog.NewJSONHandler(&out, nil)), every: time.Minute}
	s.Progress(agent.ProgressStats{Job: "home", Files: 1200, Bytes: 5 << 20, PlannedBytes: 10 << 20, Rate: 1 << 20, ETA: 5 * time.Second, Elapsed: 5 * time.Second}, false)
	s.Progress(agent.ProgressStats{}, true) // the summary line follows instead
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("want exactly one JSON line, got %q: %v", out.String(), err)
	}
	if m["msg"] != "progress" || m["job"] != "home" || m["files"] != 1200.0 || m["bytes_published"] != float64(5<<20) || m["eta"] != "5s" || m["rate"] != float64(1<<20) {
		t.Errorf("progress line %v", m)
	}
	if s.ProgressEvery() != time.Minute {
		t.Error("interval not passed on")
	}
}
