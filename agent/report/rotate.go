package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Rotation starts a new report file when the current one grows too
// large or too old, and then applies the retention rules to the report
// directory, so a watch-mode agent's report stays bounded.
type Rotation struct {
	// MaxSize in bytes; 0 never rotates by size.
	MaxSize int64
	// MaxAge since the file was opened; 0 never rotates by age.
	MaxAge time.Duration
	// Retention is applied to the file's directory after each rotation.
	Retention Retention
}

// rotation is a Writer's state for Rotation.
type rotation struct {
	Rotation
	opened  time.Time
	written *countingFile
	err     error
}

// countingFile counts the bytes written to the report file.
type countingFile struct {
	f *os.File
	n int64
}

func (c *countingFile) Write(p []byte) (int, error) {
	n, err := c.f.Write(p)
	c.n += int64(n)
	return n, err
}

// OpenRotating opens a report file at path that rotates by rot. The
// new files are named like the agent names run reports, in path's
// directory, after the time of the rotation.
//
// A report file opened here is framed: a started line with the process's
// PID first, flushed at once, an ended line when it closes, and the lines
// between flushed at least every second (see StatusEnded).
func OpenRotating(path string, rot Rotation, now time.Time, flags ...string) (*Writer, error) {
	r, err := Open(path)
	if err != nil || r.c == nil {
		return r, err
	}
	if rot.MaxSize > 0 || rot.MaxAge > 0 {
		r.rotating(rot, now)
	}
	if err := r.begin(now, flags); err != nil {
		r.c.Close()
		return nil, err
	}
	return r, nil
}

// rotating counts the bytes written, for Rotation.
func (r *Writer) rotating(rot Rotation, now time.Time) {
	f := r.c.(*os.File)
	st, _ := f.Stat()
	cf := &countingFile{f: f}
	if st != nil {
		cf.n = st.Size()
	}
	r.w = bufio.NewWriterSize(cf, 256<<10)
	r.enc = json.NewEncoder(r.w)
	r.enc.SetEscapeHTML(false)
	r.rot = &rotation{Rotation: rot, opened: now, written: cf}
}

// rotateIfDue switches to a new file when the current one is due. Called
// with r.mu held, after a line was written. A failure to open the next
// file keeps writing to the current one and is returned by close.
func (r *Writer) rotateIfDue(now time.Time) {
	rot := r.rot
	if rot == nil || rot.err != nil {
		return
	}
	size := rot.written.n + int64(r.w.Buffered())
	if !(rot.MaxSize > 0 && size >= rot.MaxSize) && !(rot.MaxAge > 0 && now.Sub(rot.opened) >= rot.MaxAge) {
		return
	}
	dir := filepath.Dir(r.path)
	next := filepath.Join(dir, "run-"+now.UTC().Format("20060102T150405.000000000Z")+".jsonl")
	if next == r.path {
		return // twice within a nanosecond: keep the current file
	}
	f, err := openFile(next)
	if err != nil {
		rot.err = fmt.Errorf("rotate report %s: %w", r.path, err)
		return
	}
	r.end(now)
	if err := r.w.Flush(); err != nil {
		rot.err = fmt.Errorf("write report %s: %w", r.path, err)
	}
	if err := r.c.Close(); err != nil && rot.err == nil {
		rot.err = fmt.Errorf("close report %s: %w", r.path, err)
	}
	rot.written = &countingFile{f: f}
	rot.opened = now
	r.c, r.path = f, next
	r.w.Reset(rot.written)
	_ = r.enc.Encode(Line{Time: now, Status: StatusStarted, PID: os.Getpid()})
	if _, err := Prune(dir, rot.Retention, now); err != nil && rot.err == nil {
		rot.err = err
	}
}
