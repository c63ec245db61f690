package summary

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/efssync/efssync/agent/report"
)

// maxLine bounds one report line: a path of PATH_MAX bytes, hex-encoded,
// and an error message fit many times over.
const maxLine = 1 << 20

// ReadFile reads one report file. An unreadable file is an error naming it;
// a line that is not a report line marks the report Damaged instead, so the
// summary can still show the rest.
func ReadFile(path string) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", path, err)
	}
	defer f.Close()
	r, err := Read(path, f)
	if err != nil {
		return nil, err
	}
	if r.Last.IsZero() {
		// No line at all (a run killed before it wrote one): the file's
		// time still orders it among the shard's runs, so an empty latest
		// report is not taken for an older one.
		if st, err := f.Stat(); err == nil {
			r.Last = st.ModTime()
		}
	}
	r.judgeUnclosed(processAlive)
	return r, nil
}

// judgeUnclosed decides about a framed report without its closing line:
// a running process's report is in progress, a gone process's was killed.
func (r *Report) judgeUnclosed(alive func(pid int) bool) {
	if r.PID == 0 || r.closed {
		return
	}
	if alive(r.PID) {
		r.Running = true
		return
	}
	r.Killed = true
}

// processAlive reports whether a process with this PID exists on this
// machine. EPERM means it exists under another user.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Read reads the JSON lines of the report named path from in.
func Read(path string, in io.Reader) (*Report, error) {
	shard, _, err := ShardOf(path)
	if err != nil {
		return nil, err
	}
	r := &Report{Path: path, Shard: shard, dests: map[string]*Totals{}}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var l report.Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil || l.Status == "" {
			if err == nil {
				err = errors.New(`no "status"`)
			}
			r.Damaged = fmt.Sprintf("line %d: not a report line: %v", n, err)
			return r, nil
		}
		r.count(l)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			r.Damaged = fmt.Sprintf("a line longer than %d bytes", maxLine)
			return r, nil
		}
		return nil, fmt.Errorf("report %s: %w", path, err)
	}
	return r, nil
}

// count adds one line to the report's tallies.
func (r *Report) count(l report.Line) {
	switch l.Status {
	case report.StatusStarted:
		r.PID = l.PID
		r.closed = false
		if l.Time.After(r.Last) {
			r.Last = l.Time
		}
		return
	case report.StatusEnded:
		r.closed = true
		r.Unchanged += l.Unchanged // counted, not listed (report.Writer.ListUnchanged)
		return
	}
	r.Lines++
	if l.Time.After(r.Last) {
		r.Last = l.Time
	}
	dest := l.Dest
	if dest == "" {
		dest = SourceDest
	}
	switch l.Status {
	case report.StatusSkipped, report.StatusAdopted: // adopted: already in place, recorded unsent
		r.Unchanged++
	case report.StatusCopied, report.StatusLinked, report.StatusSymlinked:
		t := r.dest(dest)
		t.Files++
		t.Bytes += l.Bytes
	case report.StatusDeleted:
		r.dest(dest).Deleted++
	case report.StatusFailed, report.StatusChanged, report.StatusInterrupted:
		r.Failed++
		r.dest(dest).Failed++
	}
}

func (r *Report) dest(name string) *Totals {
	t := r.dests[name]
	if t == nil {
		t = &Totals{}
		r.dests[name] = t
	}
	return t
}
