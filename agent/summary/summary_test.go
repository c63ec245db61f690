package summary

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/efssync/efssync/agent/report"
	"github.com/efssync/efssync/config"
)

// mkReport builds a report the way the agent writes it: report.Line as JSON.
func mkReport(t *testing.T, path string, at time.Time, lines ...report.Line) *Report {
	t.Helper()
	var b strings.Builder
	for i, l := range lines {
		l.Time = at.Add(time.Duration(i) * time.Second)
		if l.Job == "" {
			l.Job = "j"
		}
		j, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	r, err := Read(path, strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// skip is the line of an unchanged file.
var skip = report.Line{Path: "u", Action: "skip", Status: report.StatusSkipped}

func copied(dest string, n int64) report.Line {
	return report.Line{Path: "f", Dest: dest, Action: "copy", Status: report.StatusCopied, Bytes: n}
}

func TestMergeTotalsPerDestination(t *testing.T) {
	rs := []*Report{
		mkReport(t, "/r/run-0-of-2.jsonl", t0, copied("/efs", 10), copied("s3://b", 10), report.Line{Path: "u", Status: report.StatusSkipped},
			report.Line{Path: "gone", Dest: "/efs", Status: report.StatusDeleted}),
		mkReport(t, "/r/reports-1-of-2/run-20261125.jsonl", t0, copied("/efs", 5), report.Line{Path: "l", Dest: "/efs", Status: report.StatusLinked},
			report.Line{Path: "v", Status: report.StatusVanished}),
	}
	s, err := Merge(rs, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !s.OK() || s.Count != 2 || len(s.Missing) != 0 {
		t.Fatalf("summary %+v", s)
	}
	if got := *s.Dests["/efs"]; got != (Totals{Files: 3, Bytes: 15, Deleted: 1}) {
		t.Errorf("/efs: %+v", got)
	}
	if got := *s.Dests["s3://b"]; got != (Totals{Files: 1, Bytes: 10}) {
		t.Errorf("s3://b: %+v", got)
	}
	if rs[0].Unchanged != 1 || rs[1].Shard != (config.Shard{Index: 1, Count: 2}) {
		t.Errorf("reports %+v %+v", rs[0], rs[1])
	}
}

func TestMergeFailuresMissingAndReRuns(t *testing.T) {
	fail := report.Line{Path: "x", Dest: "/efs", Status: report.StatusFailed, Error: "EIO"}
	changed := report.Line{Path: "y", Status: report.StatusChanged}
	first := mkReport(t, "/r/a/run-2-of-4.jsonl", t0, copied("/efs", 1), fail, changed)
	s, err := Merge([]*Report{first, mkReport(t, "/r/run-0-of-4.jsonl", t0, skip)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if s.OK() || !slices.Equal(s.Missing, []int{1, 3}) || s.Dests["/efs"].Failed != 1 || s.Dests[SourceDest].Failed != 1 {
		t.Fatalf("summary %+v missing %v", s, s.Missing)
	}
	// The re-run of shard 2 repairs it: its old failures no longer count,
	// its copies still do.
	first = mkReport(t, "/r/a/run-2-of-4.jsonl", t0, copied("/efs", 1), fail, changed)
	rerun := mkReport(t, "/r/b/run-2-of-4.jsonl", t0.Add(time.Hour), copied("/efs", 7))
	var rs []*Report
	for i := range 4 {
		if i != 2 {
			rs = append(rs, mkReport(t, "/r/run-"+config.Shard{Index: i, Count: 4}.String()+".jsonl", t0, skip))
		}
	}
	s, err = Merge(append(rs, rerun, first), 4)
	if err != nil {
		t.Fatal(err)
	}
	if !s.OK() || !first.Superseded || rerun.Superseded || *s.Dests["/efs"] != (Totals{Files: 2, Bytes: 8}) {
		t.Fatalf("after the re-run: %+v %+v", s, s.Dests["/efs"])
	}
}

func TestMergeRefusesInconsistentCounts(t *testing.T) {
	a := mkReport(t, "/r/run-0-of-2.jsonl", t0)
	b := mkReport(t, "/r/run-1-of-3.jsonl", t0)
	plain := mkReport(t, "/r/run.jsonl", t0)
	for _, tc := range []struct {
		rs    []*Report
		count int
		want  string
	}{
		{[]*Report{a, b}, 0, "report /r/run-1-of-3.jsonl is shard 1-of-3, but /r/run-0-of-2.jsonl is shard 0-of-2"},
		{[]*Report{a}, 3, "report /r/run-0-of-2.jsonl is shard 0-of-2, but --count is 3"},
		{[]*Report{plain}, 2, "report /r/run.jsonl: its name carries no I-of-N"},
	} {
		if _, err := Merge(tc.rs, tc.count); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
	// Reports without shards merge as they are, each its own run.
	s, err := Merge([]*Report{mkReport(t, "/r/run.jsonl", t0, skip), mkReport(t, "/r/other.jsonl", t0, skip)}, 0)
	if err != nil || !s.OK() || s.Count != 0 {
		t.Fatalf("unsharded: %+v, %v", s, err)
	}
	// A report without a line proves nothing.
	s, err = Merge([]*Report{plain}, 0)
	if err != nil || s.OK() {
		t.Fatalf("an empty report passes: %+v, %v", s, err)
	}
}

func TestShardOf(t *testing.T) {
	for in, want := range map[string]string{
		"/r/run-3-of-8.jsonl":                "3-of-8",
		"/state/reports-12-of-16/run-x.json": "12-of-16",
		"/a-1-of-2/b-3-of-4.jsonl":           "3-of-4",
		"/r/run-20261125T1200.jsonl":         "",
		"/r/13-of-8.jsonl":                   "error",
		"/r/shard1-of-2.log":                 "1-of-2",
		"/r/v2-of-x.jsonl":                   "",
	} {
		s, ok, err := ShardOf(in)
		got := s.String()
		switch {
		case err != nil:
			got = "error"
		case !ok:
			got = ""
		}
		if got != want {
			t.Errorf("ShardOf(%q) = %q (%v), want %q", in, got, err, want)
		}
	}
}

func TestReadDamaged(t *testing.T) {
	good, _ := json.Marshal(copied("/efs", 3))
	for in, want := range map[string]string{
		string(good) + "\n{\"time\":\"2026-11-25T12:00:00Z\",\"job\":\"j\",\"pa": "line 2: not a report line: unexpected end of JSON input",
		string(good) + "\n\n{\"x\": 1}\n":                                        `line 3: not a report line: no "status"`,
		"not json\n":                                                             "line 1: not a report line: invalid character",
		strings.Repeat("x", maxLine+1):                                           "a line longer than",
	} {
		r, err := Read("/r/run-0-of-1.jsonl", strings.NewReader(in))
		if err != nil || !strings.HasPrefix(r.Damaged, want) || r.OK() {
			t.Errorf("%.40q: %+v, %v; want damaged %q", in, r, err, want)
		}
	}
}
