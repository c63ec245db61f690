package summary

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/efssync/efssync/internal/namefmt"
)

// WriteText prints the summary for a person: the destinations' totals, the
// reports with their state, and the missing shards last, where a terminal
// leaves them in view.
func (s *Summary) WriteText(w io.Writer) error {
	names := make([]string, 0, len(s.Dests))
	width := len("destination")
	for name := range s.Dests {
		names = append(names, name)
		width = max(width, len(name))
	}
	slices.Sort(names)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\tfiles\tbytes\tdeleted\tfailed\t\n", width, "destination")
	var total Totals
	for _, name := range names {
		t := s.Dests[name]
		fmt.Fprintf(tw, "%-*s\t%d\t%d\t%d\t%d\t\n", width, name, t.Files, t.Bytes, t.Deleted, t.Failed)
		total.Files += t.Files
		total.Bytes += t.Bytes
		total.Deleted += t.Deleted
		total.Failed += t.Failed
	}
	fmt.Fprintf(tw, "%-*s\t%d\t%d\t%d\t%d\t\n", width, "total", total.Files, total.Bytes, total.Deleted, total.Failed)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "shard\tstate\tlines\tunchanged\tfailed\treport")
	for _, r := range s.Reports {
		shard := "-"
		if r.Shard.Count > 0 {
			shard = r.Shard.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", shard, r.state(), r.Lines, r.Unchanged, r.Failed, namefmt.Name(r.Path))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	if len(s.Missing) > 0 {
		idx := make([]string, len(s.Missing))
		for i, m := range s.Missing {
			idx[i] = fmt.Sprint(m)
		}
		fmt.Fprintf(w, "\nmissing: %d of %d shards have no report: %s\n", len(s.Missing), s.Count, strings.Join(idx, ", "))
	}
	_, err := fmt.Fprintf(w, "\n%s\n", s.verdict())
	if err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// state is one report's word in the table.
func (r *Report) state() string {
	switch {
	case r.Superseded:
		return "superseded"
	case r.Killed:
		return fmt.Sprintf("killed (no closing line, process %d is gone)", r.PID)
	case r.Damaged != "":
		return "damaged (" + r.Damaged + ")"
	case r.Failed > 0:
		return "failed"
	case r.Lines == 0 && !r.closed:
		return "empty (the run reported nothing: see its log)"
	case r.Running:
		return fmt.Sprintf("running (process %d)", r.PID)
	}
	return "ok"
}

// verdict is the last line: what the exit status means.
func (s *Summary) verdict() string {
	if s.OK() {
		if s.Count > 0 {
			return fmt.Sprintf("in sync: all %d shards reported, nothing failed", s.Count)
		}
		return "in sync: nothing failed"
	}
	return "NOT in sync: a run failed, was killed, is damaged or is missing"
}
