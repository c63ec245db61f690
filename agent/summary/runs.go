package summary

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/efssync/efssync/agent/report"
)

// Runs reads every report file (*.jsonl) of a report directory, newest
// first, so the report commands answer "what happened last" without the
// operator listing files. Newest is by the time of a report's last line
// (its file time when it has none); equal times order by name, descending,
// since the names carry the start time.
func Runs(dir string) ([]*Report, error) {
	names, err := runNames(dir)
	if err != nil {
		return nil, err
	}
	runs := make([]*Report, 0, len(names))
	for _, n := range names {
		r, err := ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	slices.SortStableFunc(runs, func(a, b *Report) int {
		if c := b.Last.Compare(a.Last); c != 0 {
			return c
		}
		return strings.Compare(b.Path, a.Path)
	})
	return runs, nil
}

// runNames lists the report files of dir: regular files named *.jsonl.
func runNames(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("report directory %s: %w", dir, err)
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".jsonl") {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// ErrNoRun is returned by FindRun when no report file matches.
var ErrNoRun = errors.New("no such run")

// FindRun resolves RUN, a report file name or a prefix of one (with or
// without ".jsonl"), to the file's path in dir. A prefix that matches
// several files is an error listing them, never a guess.
func FindRun(dir, run string) (string, error) {
	if run == "" || strings.ContainsRune(run, '/') {
		return "", fmt.Errorf("run %q: give a report file name from %s, or a prefix of one", run, dir)
	}
	names, err := runNames(dir)
	if err != nil {
		return "", err
	}
	var hits []string
	for _, n := range names {
		if n == run || n == run+".jsonl" {
			return filepath.Join(dir, n), nil
		}
		if strings.HasPrefix(n, run) {
			hits = append(hits, n)
		}
	}
	switch len(hits) {
	case 0:
		return "", fmt.Errorf("run %q: %w in %s", run, ErrNoRun, dir)
	case 1:
		return filepath.Join(dir, hits[0]), nil
	}
	return "", fmt.Errorf("run %q is ambiguous in %s: it starts %s", run, dir, strings.Join(hits, ", "))
}

// ScanLines calls fn with each line of the report file at path, in order.
// A line that is not a report line is an error naming the file and line:
// the caller asked for lines, and a silent gap would hide entries.
func ScanLines(path string, fn func(report.Line) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for n := 1; sc.Scan(); n++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var l report.Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("report %s: line %d: %w", path, n, err)
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	return nil
}

// Failing reports whether a line's status fails its run.
func Failing(s report.Status) bool {
	return s == report.StatusFailed || s == report.StatusChanged || s == report.StatusInterrupted
}
