// Package summary reads the JSON-lines run reports (report.Line, one file
// per run) for the `efssync report` commands. It merges reports, of any run
// or of the shards of one migration, into one account: what moved to each
// destination, what still fails, and which shards are missing, so an
// operator reads one summary instead of N reports. It also lists a report
// directory newest first, resolves a run by name or prefix and scans a
// report's lines (runs.go), so "what failed last night?" needs no file names.
//
// Work done (files, bytes, deletes) is summed over every report given.
// Failures count only in each shard's latest report (by the time of its
// last line): a shard re-run after a failure is judged by the re-run, and
// the failures it repaired are not counted again.
package summary

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/efssync/efssync/config"
)

// SourceDest names, in Dests, the failures that happened before any
// destination was involved (the source could not be read, or changed).
const SourceDest = "(source)"

// Totals is what the reports say happened at one destination.
type Totals struct {
	// Files counts entries published: copied, linked or symlinked.
	Files int64 `json:"files"`
	// Bytes is the size of the files copied.
	Bytes   int64 `json:"bytes"`
	Deleted int64 `json:"deleted"`
	// Failed counts failed (or, for SourceDest, changed) entries in the
	// latest report of each shard.
	Failed int64 `json:"failed"`
}

// Report is one report file as read.
type Report struct {
	Path string `json:"path"`
	// Shard is the shard its name carries ("3-of-8" anywhere in the path),
	// or the zero Shard when the name carries none.
	Shard config.Shard `json:"shard"`
	Lines int64        `json:"lines"`
	// Unchanged counts files skipped because they were already in sync.
	Unchanged int64 `json:"unchanged"`
	// Failed counts failed and changed lines.
	Failed int64 `json:"failed"`
	// Damaged names the first line that is not a report line: a run that
	// died while writing, or a file that is not a report.
	Damaged string    `json:"damaged,omitempty"`
	Last    time.Time `json:"last"`
	// Superseded is set when a later report of the same shard was given.
	Superseded bool `json:"superseded,omitempty"`
	// PID is the process that wrote the report (its started line); 0 for
	// a report written before reports carried one.
	PID int `json:"pid,omitempty"`
	// Running: the report has no closing line and its process is alive.
	Running bool `json:"running,omitempty"`
	// Killed: the report has no closing line and its process is gone, so
	// the run was killed and its lines may be incomplete: a failed run.
	Killed bool `json:"killed,omitempty"`
	closed bool
	dests  map[string]*Totals
}

// OK reports whether the run the report records left nothing failed. A
// report without a line proves nothing (a job that failed to start writes
// none), so it is not OK either.
//
// A killed run is not OK either; a running one is judged by its lines so far.
// A closed report proves its run finished, even with no entry line (a
// re-run where everything was unchanged lists nothing).
func (r *Report) OK() bool {
	return r.Failed == 0 && r.Damaged == "" && (r.Lines > 0 || r.closed) && !r.Killed
}

// Summary is the merged account of every report.
type Summary struct {
	Reports []*Report          `json:"reports"`
	Dests   map[string]*Totals `json:"destinations"`
	// Count is the shard count, given or found in the names; 0 when the
	// reports carry no shard.
	Count int `json:"count"`
	// Missing lists the shard indexes no report was given for.
	Missing []int `json:"missing,omitempty"`
}

// OK reports whether every shard is present and its latest run failed
// nothing: the summary command's exit status 0.
func (s *Summary) OK() bool {
	if len(s.Missing) > 0 || len(s.Reports) == 0 {
		return false
	}
	for _, r := range s.Reports {
		if !r.Superseded && !r.OK() {
			return false
		}
	}
	return true
}

// shardName finds "I-of-N" in a report's path, the last one when several.
var shardName = regexp.MustCompile(`(?:^|[^0-9])([0-9]+)-of-([0-9]+)(?:[^0-9]|$)`)

// ShardOf returns the shard a report path names, and false when it names
// none. The name is what config.ShardPath gives a shard's report directory
// or --report file.
func ShardOf(path string) (config.Shard, bool, error) {
	m := shardName.FindAllStringSubmatch(filepath.ToSlash(path), -1)
	if m == nil {
		return config.Shard{}, false, nil
	}
	last := m[len(m)-1]
	s, err := config.ParseShard(last[1] + "/" + last[2])
	if err != nil {
		return config.Shard{}, false, fmt.Errorf("report %s: shard %s-of-%s in its name: %w", path, last[1], last[2], err)
	}
	return s, true, nil
}

// Merge combines reports already read. count is the expected number of
// shards, or 0 to take it from the names. It fails when the names disagree
// on the count, or a count is expected and a report names no shard.
func Merge(reports []*Report, count int) (*Summary, error) {
	s := &Summary{Reports: reports, Dests: map[string]*Totals{}, Count: count}
	for _, r := range reports {
		switch {
		case r.Shard.Count == 0 && count > 0:
			return nil, fmt.Errorf("report %s: its name carries no I-of-N, so it cannot count as one of %d shards", r.Path, count)
		case r.Shard.Count == 0:
		case s.Count == 0:
			s.Count = r.Shard.Count
		case r.Shard.Count != s.Count:
			return nil, fmt.Errorf("report %s is shard %s, but %s", r.Path, r.Shard, countSource(s.Count, count, reports))
		}
	}
	latest := map[string]*Report{}
	for _, r := range reports {
		key := r.Path
		if r.Shard.Count > 0 {
			key = r.Shard.String()
		}
		if prev := latest[key]; prev != nil {
			older, newer := prev, r
			if r.Last.Before(prev.Last) {
				older, newer = r, prev
			}
			older.Superseded = true
			latest[key] = newer
		} else {
			latest[key] = r
		}
	}
	for _, r := range reports {
		s.add(r)
	}
	if s.Count > 0 {
		for i := range s.Count {
			if latest[config.Shard{Index: i, Count: s.Count}.String()] == nil {
				s.Missing = append(s.Missing, i)
			}
		}
	}
	return s, nil
}

// add sums one report into the destinations' totals.
func (s *Summary) add(r *Report) {
	for name, t := range r.dests {
		sum := s.Dests[name]
		if sum == nil {
			sum = &Totals{}
			s.Dests[name] = sum
		}
		sum.Files += t.Files
		sum.Bytes += t.Bytes
		sum.Deleted += t.Deleted
		if !r.Superseded {
			sum.Failed += t.Failed
		}
	}
}

// countSource says where the expected count came from, for an error.
func countSource(have, given int, reports []*Report) string {
	if given > 0 {
		return "--count is " + strconv.Itoa(given)
	}
	i := slices.IndexFunc(reports, func(r *Report) bool { return r.Shard.Count == have })
	return fmt.Sprintf("%s is shard %s", reports[i].Path, reports[i].Shard)
}
