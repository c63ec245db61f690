package main

import (
	"fmt"
	"strings"
)

// target is one performance target of the issues: efssync's time against
// a peer's on a data set, as the ratio peer ÷ efssync (throughput ratio).
type target struct {
	text            string
	ds, where, peer string // peer "best" is the fastest peer of the row
	phase           string
	min             float64
}

var targets = []target{
	{"issue 2: first sync of the 20,000 small files no slower than cp -a", "medium", "tmpfs", "cp", "first", 1},
	{"issue 2: unchanged re-run at least 2× faster than rsync -a's", "medium", "tmpfs", "rsync", "rerun", 2},
	{"issue 2: large files at 80% or more of cp -a's throughput", "large", "tmpfs", "cp", "first", 0.8},
	{"issue 5: 5,000 small files into the mount at least 5× faster than cp -a", "small", "efs", "cp", "first", 5},
	{"issue 5: 5,000 small files into the mount at least 10× faster than rsync -a", "small", "efs", "rsync", "first", 10},
	{"issue 5: unchanged 20,000-file re-run at least 10× faster than rsync -a", "medium", "efs", "rsync", "rerun", 10},
	{"issue 5: large files at 90% or more of the best peer's throughput", "large", "efs", "best", "first", 0.9},
}

// writeTargets states, for each target measured in this run, the ratio and
// whether it was met, so the table is read the same way every time.
func writeTargets(b *strings.Builder, cells map[key]*cell) {
	var lines []string
	for _, t := range targets {
		ref := cells[key{t.ds, t.where, "efssync", "", t.phase}]
		var peer *cell
		if t.peer == "best" {
			for _, tool := range tools[1:] {
				if c := best(cells, t.ds, t.where, tool, t.phase); c != nil && c.runs > 0 && (peer == nil || c.secs < peer.secs) {
					peer = c
				}
			}
		} else {
			peer = best(cells, t.ds, t.where, t.peer, t.phase)
		}
		if ref == nil || ref.runs == 0 || peer == nil || peer.runs == 0 || ref.secs == 0 {
			continue
		}
		ratio := peer.secs / ref.secs
		verdict := "met"
		if ratio < t.min {
			verdict = "MISSED"
		}
		lines = append(lines, fmt.Sprintf("- %s: %.2f× (%.2f s vs %.2f s): %s", t.text, ratio, ref.secs, peer.secs, verdict))
	}
	if len(lines) == 0 {
		return
	}
	b.WriteString("\n### Targets\n\nRatio = peer's median time ÷ efssync's (above 1× efssync is faster; for throughput targets, efssync's share of the peer's throughput).\n\n")
	b.WriteString(strings.Join(lines, "\n") + "\n")
}
