package main

import (
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestBestPicksFastestFirstSyncAndItsRerun(t *testing.T) {
	rows := []row{
		{ds: "small", target: "efs", tool: "rclone", n: "8", phase: "first", secs: 4, ok: true},
		{ds: "small", target: "efs", tool: "rclone", n: "8", phase: "rerun", secs: 0.1, ok: true},
		{ds: "small", target: "efs", tool: "rclone", n: "32", phase: "first", secs: 2, ok: true},
		{ds: "small", target: "efs", tool: "rclone", n: "32", phase: "rerun", secs: 0.5, ok: true},
		{ds: "small", target: "efs", tool: "rclone", n: "64", phase: "first", secs: 1, ok: false},
	}
	cells := summarize(rows, map[string]float64{"small": 5000})
	if c := best(cells, "small", "efs", "rclone", "rerun"); c == nil || c.n != "32" || c.secs != 0.5 {
		t.Fatalf("best rerun = %+v, want N=32 with 0.5 s", c)
	}
	if c := best(cells, "small", "efs", "cp", "first"); c != nil {
		t.Fatalf("best of an unmeasured tool = %+v, want nil", c)
	}
}

func TestReportKeepsIntroAndMarksFailures(t *testing.T) {
	rows := []row{
		{ds: "small", target: "tmpfs", tool: "efssync", phase: "first", secs: 1, rssKB: 2048, ok: true},
		{ds: "small", target: "tmpfs", tool: "cp", phase: "first", secs: 3, rssKB: 1024, ok: true},
		{ds: "small", target: "tmpfs", tool: "rsync", phase: "first", ok: false},
	}
	var b strings.Builder
	writeReport(&b, rows, map[string]string{"date": "today", "files_small": "5000"}, []string{"date"}, "cp -a $SRC/. $DST/\n")
	out := b.String()
	for _, want := range []string{"3.00 s (3.0×)", "| failed |", "cp -a $SRC/. $DST/"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestTargetsSayMetOrMissed(t *testing.T) {
	rows := []row{
		{ds: "medium", target: "tmpfs", tool: "efssync", phase: "rerun", secs: 0.1, ok: true},
		{ds: "medium", target: "tmpfs", tool: "rsync", phase: "rerun", secs: 0.3, ok: true},
		{ds: "large", target: "tmpfs", tool: "efssync", phase: "first", secs: 0.4, ok: true},
		{ds: "large", target: "tmpfs", tool: "cp", phase: "first", secs: 0.2, ok: true},
	}
	var b strings.Builder
	writeTargets(&b, summarize(rows, nil))
	out := b.String()
	for _, want := range []string{"re-run at least 2× faster than rsync -a's: 3.00× (0.10 s vs 0.30 s): met",
		"80% or more of cp -a's throughput: 0.50× (0.40 s vs 0.20 s): MISSED"} {
		if !strings.Contains(out, want) {
			t.Errorf("targets lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "20,000 small files no slower") {
		t.Errorf("a target without measurements was stated:\n%s", out)
	}
}

func TestAdoptionRowStatesRatioAndBytesWritten(t *testing.T) {
	rows := []row{
		{ds: "medium", target: "efs", tool: "efssync", phase: "first", secs: 10, ok: true, ops: map[string]int64{"write_bytes": 1 << 20}},
		{ds: "medium", target: "efs", tool: "efssync", phase: "adopt", secs: 1, ok: true, ops: map[string]int64{"write_bytes": 0, "getattr": 40000}},
	}
	var b strings.Builder
	writeAdoption(&b, summarize(rows, map[string]float64{"medium": 20000}))
	if !strings.Contains(b.String(), "(10.0×), 0 bytes written per file: met") {
		t.Fatalf("adoption section:\n%s", b.String())
	}
	rows[1].ops["write_bytes"] = 5
	b.Reset()
	writeAdoption(&b, summarize(rows, map[string]float64{"medium": 20000}))
	if !strings.Contains(b.String(), "MISSED") {
		t.Fatalf("an adoption that wrote bytes is not marked missed:\n%s", b.String())
	}
}
