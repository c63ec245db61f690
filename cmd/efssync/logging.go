package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/efssync/efssync/agent"
	"github.com/efssync/efssync/internal/namefmt"
)

// newLogger builds the process's logger. On a terminal it writes text
// through a statusLine, so log lines never glue onto the progress bar.
// Elsewhere it writes JSON lines; when stderr is the journal's stream
// (JOURNAL_STREAM names it) each line carries an sd-daemon priority prefix,
// so `journalctl -p err` finds errors.
func newLogger(stderr io.Writer, level slog.Level, term *statusLine, env func(string) string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: namefmt.LogAttr}
	if term != nil {
		return slog.New(slog.NewTextHandler(term, opts))
	}
	if isJournalStream(stderr, env("JOURNAL_STREAM")) {
		pw := &priorityWriter{w: stderr}
		return slog.New(&priorityHandler{inner: slog.NewJSONHandler(pw, opts), pw: pw})
	}
	return slog.New(slog.NewJSONHandler(stderr, opts))
}

// isJournalStream reports whether w is the stream systemd connected to the
// journal: JOURNAL_STREAM is "device:inode" of that stream.
func isJournalStream(w io.Writer, js string) bool {
	f, ok := w.(*os.File)
	if !ok || js == "" {
		return false
	}
	dev, ino, ok := strings.Cut(js, ":")
	if !ok {
		return false
	}
	d, err1 := strconv.ParseUint(dev, 10, 64)
	i, err2 := strconv.ParseUint(ino, 10, 64)
	var st syscall.Stat_t
	if err1 != nil || err2 != nil || syscall.Fstat(int(f.Fd()), &st) != nil {
		return false
	}
	return uint64(st.Dev) == d && st.Ino == i
}

// journalPriority maps a slog level to a syslog priority (sd-daemon(3)).
func journalPriority(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return 3 // err
	case l >= slog.LevelWarn:
		return 4 // warning
	case l >= slog.LevelInfo:
		return 6 // info
	default:
		return 7 // debug
	}
}

// priorityWriter prefixes each record with "<N>"; priorityHandler sets N
// under the shared lock before the JSON handler writes the record.
type priorityWriter struct {
	mu  sync.Mutex
	w   io.Writer
	pri int
	buf []byte
}

func (p *priorityWriter) Write(b []byte) (int, error) {
	p.buf = append(append(p.buf[:0], '<', byte('0'+p.pri), '>'), b...)
	if _, err := p.w.Write(p.buf); err != nil {
		return 0, err
	}
	return len(b), nil
}

// priorityHandler tags every record with its journal priority.
type priorityHandler struct {
	inner slog.Handler
	pw    *priorityWriter
}

func (h *priorityHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *priorityHandler) Handle(ctx context.Context, r slog.Record) error {
	h.pw.mu.Lock()
	defer h.pw.mu.Unlock()
	h.pw.pri = journalPriority(r.Level)
	return h.inner.Handle(ctx, r)
}

func (h *priorityHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &priorityHandler{inner: h.inner.WithAttrs(as), pw: h.pw}
}

func (h *priorityHandler) WithGroup(name string) slog.Handler {
	return &priorityHandler{inner: h.inner.WithGroup(name), pw: h.pw}
}

// statusLine shares a terminal between the progress bar and log lines: a
// log line first clears the bar, and the bar is drawn again after it.
// The agent draws the bar as "\r\033[K" + text and ends it with "\n".
type statusLine struct {
	mu     sync.Mutex
	w      io.Writer
	status string // the bar as last drawn, "" when none is shown
}

// Progress returns the writer the agent draws the bar on.
func (s *statusLine) Progress() io.Writer { return statusBar{s} }

// Write writes one log record above the bar.
func (s *statusLine) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status != "" {
		if _, err := io.WriteString(s.w, "\r\033[K"); err != nil {
			return 0, err
		}
	}
	n, err := s.w.Write(b)
	if err == nil && s.status != "" {
		_, err = io.WriteString(s.w, s.status)
	}
	return n, err
}

// statusBar is the bar's side of a statusLine.
type statusBar struct{ s *statusLine }

func (b statusBar) Write(p []byte) (int, error) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	if strings.HasSuffix(string(p), "\n") {
		b.s.status = "" // the bar is finished: it stays as a plain line
	} else {
		b.s.status = string(p)
	}
	return b.s.w.Write(p)
}

// statsLogger is the progress display without a terminal: every interval
// it logs a line with files, bytes, rate and ETA, so a long migration under
// systemd is not silent.
type statsLogger struct {
	log   *slog.Logger
	every time.Duration
}

func (s statsLogger) ProgressEvery() time.Duration { return s.every }

// Write is never called by the agent for a ProgressSink; it exists because
// agent.Options.Progress is an io.Writer.
func (s statsLogger) Write(p []byte) (int, error) { return len(p), nil }

func (s statsLogger) Progress(st agent.ProgressStats, final bool) {
	if final {
		return // the run's summary line follows
	}
	eta := "unknown"
	if st.ETA > 0 {
		eta = st.ETA.String()
	}
	// rate is a number (bytes per second), so a log pipeline can graph it.
	s.log.Info("progress", "job", st.Job, "files", st.Files, "copied", st.Copied, "unchanged", st.Unchanged,
		"failed", st.Failed, "bytes_published", st.Bytes, "bytes_planned", st.PlannedBytes, "walking", st.Walking,
		"rate", int64(st.Rate), "eta", eta, "elapsed", st.Elapsed.Round(time.Second).String())
}

// errorPrefix is "<3>" (err) when w is the journal's stream, so the plain
// "efssync: ..." lines that end a failed run are found by `journalctl -p err`
// too; "" elsewhere.
func errorPrefix(w io.Writer) string {
	if isJournalStream(w, os.Getenv("JOURNAL_STREAM")) {
		return "<3>"
	}
	return ""
}
