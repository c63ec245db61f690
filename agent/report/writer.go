package report

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/efssync/efssync/internal/namefmt"
)

// Status is the outcome of one entry at one destination, as reported.
type Status string

// Outcomes written to the report. Only StatusFailed and StatusChanged make a
// run exit 1; a vanished file was deleted by its owner, which is no fault.
const (
	StatusCopied    Status = "copied"
	StatusLinked    Status = "linked"
	StatusSymlinked Status = "symlinked"
	StatusMkdir     Status = "mkdir"
	StatusDeleted   Status = "deleted"
	StatusSkipped   Status = "skipped"
	StatusFailed    Status = "failed"
	StatusVanished  Status = "vanished"
	StatusChanged   Status = "changed"
	StatusPlanned   Status = "planned" // dry run: would be done
	// StatusUnfinished: the file changed within finished.quiet and is left
	// for a later run.
	StatusUnfinished Status = "unfinished"
	// StatusArchived: the source was removed after its copies were verified.
	StatusArchived Status = "archived"
)

// StatusAdopted: the destination already held the entry as the source has
// it; it was recorded without being sent.
const StatusAdopted Status = "adopted"

// StatusPending is an archived object (GLACIER, DEEP_ARCHIVE) whose
// restore was requested: a later run reads it once S3 made it available.
const StatusPending Status = "pending restore"

// StatusUnsupported: the source entry cannot be replicated and was left
// out: a FIFO, a socket or a device (efssync creates none of them, unlike
// rsync -a as root), or a file named like efssync's own temp files, which
// a destination would hide and clean away. Unlike skipped (unchanged), it
// means the destination lacks the entry.
const StatusUnsupported Status = "unsupported"

// StatusInterrupted is the report's last line when a once-mode run was
// stopped (SIGTERM, SIGINT) before it finished: a cut-over script must not
// read the report, or the exit status, as "everything is in sync".
const StatusInterrupted Status = "interrupted"

// StatusStarted is a report file's first line: it carries the PID of the
// process writing it, so a reader can tell a run that is still going from
// one that was killed before it wrote its closing line, and in Flags the
// command-line flags that changed the configuration for the run.
const StatusStarted Status = "started"

// StatusEnded is a report file's closing line, written when the file is
// closed (the run ended, or the file rotated). A report whose process is
// gone and that has no closing line was killed (SIGKILL, power loss): its
// run is failed, whatever its other lines say.
const StatusEnded Status = "ended"

// flushEvery bounds how much a SIGKILL can lose: lines sit in the buffer
// at most this long.
const flushEvery = time.Second

// Line is one line of the JSON-lines run report: what happened to one path at
// one destination, so an operator can audit every file of a migration.
type Line struct {
	Time time.Time `json:"time"`
	Job  string    `json:"job"`
	Path string    `json:"path"`
	// PathHex carries the exact bytes of a path that is not valid UTF-8,
	// which JSON strings cannot hold.
	PathHex    string  `json:"path_hex,omitempty"`
	Dest       string  `json:"dest,omitempty"`
	Action     string  `json:"action,omitempty"`
	Status     Status  `json:"status"`
	Bytes      int64   `json:"bytes"`
	BLAKE3     string  `json:"blake3,omitempty"`
	DurationMS float64 `json:"duration_ms"`
	Error      string  `json:"error,omitempty"`
	// Flags are the command-line flags in force, on the run's first
	// line (status started) only.
	Flags []string `json:"flags,omitempty"`
	// PID is the writing process, on the started line only.
	PID int `json:"pid,omitempty"`
	// Unchanged, on the ended line only, counts the unchanged entries the
	// file did not get a line for (see Writer.ListUnchanged).
	Unchanged int64 `json:"unchanged,omitempty"`
}

// Writer serialises report lines from many workers into one file.
type Writer struct {
	mu   sync.Mutex
	w    *bufio.Writer
	c    io.Closer
	enc  *json.Encoder
	path string
	buf  []byte
	// rot, when set, starts a new file when this one is too large or too
	// old (watch mode runs for months with one report).
	rot *rotation
	// echo, when set, receives every line as it is written (-v).
	echo func(Line)
	// listUnchanged writes a line per unchanged entry; otherwise they are
	// counted in unchanged, for the ended line.
	listUnchanged bool
	unchanged     int64
	// framed: the file has a started line and gets an ended line.
	framed bool
	// stop ends the flush loop; done is closed when it has.
	stop chan struct{}
	done chan struct{}
}

// SetEcho makes every line written also go to fn, in the order written:
// the command line prints them for -v. Call it before the first Write.
func (r *Writer) SetEcho(fn func(Line)) { r.echo = fn }

// Stdout is the report path ("--report -") that writes the lines to
// standard output, for piping into jq or a log shipper.
const Stdout = "-"

// Open opens the report file. An empty path discards the lines;
// Stdout writes them to standard output.
func Open(path string) (*Writer, error) {
	if path == "" {
		w := bufio.NewWriter(io.Discard)
		return &Writer{w: w, enc: json.NewEncoder(w)}, nil
	}
	if path == Stdout {
		w := bufio.NewWriterSize(os.Stdout, 64<<10)
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return &Writer{w: w, enc: enc, path: "standard output"}, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create report directory for %s: %w", path, err)
	}
	f, err := openFile(path)
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriterSize(f, 256<<10)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &Writer{w: w, c: f, enc: enc, path: path}, nil
}

// ListUnchanged makes the report list every unchanged entry (-vv) instead
// of counting them on the ended line. A re-run of 200,000 unchanged files
// would otherwise write 27 MB of lines that say nothing happened.
func (r *Writer) ListUnchanged(on bool) {
	r.mu.Lock()
	r.listUnchanged = on
	r.mu.Unlock()
}

// unchangedLine reports whether l says an entry was left as it was because
// it was already in sync (not a skipped delete, which is news).
func unchangedLine(l Line) bool { return l.Status == StatusSkipped && l.Action == "skip" }

func (r *Writer) Write(l Line) {
	if unchangedLine(l) {
		r.mu.Lock()
		drop := !r.listUnchanged
		if drop {
			r.unchanged++
		}
		r.mu.Unlock()
		if drop {
			return
		}
	}
	l.Error = namefmt.Text(l.Error) // names in it stay told apart
	if !utf8.ValidString(l.Path) {
		l.PathHex = hex.EncodeToString([]byte(l.Path))
	}
	r.mu.Lock()
	_ = r.enc.Encode(l)
	r.rotateIfDue(l.Time)
	if r.echo != nil {
		r.echo(l)
	}
	r.mu.Unlock()
}

// WriteSkip writes the line of an unchanged entry. It is the line a large
// unchanged tree writes most, so plain paths skip the reflection of
// encoding/json; anything that needs escaping takes the general path.
func (r *Writer) WriteSkip(now time.Time, job, rel string) {
	r.mu.Lock()
	if !r.listUnchanged {
		r.unchanged++
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	if !plainJSON(rel) || !plainJSON(job) || r.echo != nil {
		r.Write(Line{Time: now, Job: job, Path: rel, Action: "skip", Status: StatusSkipped})
		return
	}
	r.mu.Lock()
	b := r.buf[:0]
	b = append(b, `{"time":"`...)
	b = now.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","job":"`...)
	b = append(b, job...)
	b = append(b, `","path":"`...)
	b = append(b, rel...)
	b = append(b, `","action":"skip","status":"skipped","bytes":0,"duration_ms":0}`+"\n"...)
	_, _ = r.w.Write(b)
	r.buf = b
	r.rotateIfDue(now)
	r.mu.Unlock()
}

// plainJSON reports whether s can stand in a JSON string as it is.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

// begin writes the started line and flushes it at once, so even a run
// killed in its first second leaves a report that says it was killed, and
// starts flushing the buffer every flushEvery.
func (r *Writer) begin(now time.Time, flags []string) error {
	r.framed = true
	_ = r.enc.Encode(Line{Time: now, Status: StatusStarted, PID: os.Getpid(), Flags: flags})
	if err := r.w.Flush(); err != nil {
		return fmt.Errorf("write report %s: %w", r.path, err)
	}
	r.stop, r.done = make(chan struct{}), make(chan struct{})
	go r.flushLoop()
	return nil
}

// flushLoop writes the buffered lines out every flushEvery, so a killed
// run loses at most the last second of its report.
func (r *Writer) flushLoop() {
	defer close(r.done)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.Flush()
		}
	}
}

// Flush writes the buffered lines to the file now: on a signal, before the
// process may be killed.
func (r *Writer) Flush() {
	r.mu.Lock()
	_ = r.w.Flush()
	r.mu.Unlock()
}

// end writes the closing line. Called with r.mu held.
func (r *Writer) end(now time.Time) {
	if r.framed {
		_ = r.enc.Encode(Line{Time: now, Status: StatusEnded, Unchanged: r.unchanged})
	}
	r.unchanged = 0
}

func (r *Writer) Close() error {
	if r.stop != nil {
		close(r.stop)
		<-r.done
		r.stop = nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.end(time.Now())
	err := r.w.Flush()
	if r.rot != nil && r.rot.err != nil && err == nil {
		err = r.rot.err
	}
	if r.c != nil {
		if cerr := r.c.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("write report %s: %w", r.path, err)
	}
	return nil
}

// openFile opens a report file for appending. It refuses a symlink in the
// file's place (O_NOFOLLOW): a link planted where a report will be written
// would otherwise make efssync append to whatever file it points at.
func openFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND|syscall.O_NOFOLLOW, 0o600)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("open report %s: it is a symbolic link; efssync does not follow a link where it writes a report", path)
	}
	if err != nil {
		return nil, fmt.Errorf("open report %s: %w", path, err)
	}
	return f, nil
}
