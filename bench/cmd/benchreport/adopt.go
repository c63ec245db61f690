package main

import (
	"fmt"
	"strings"
)

// adoptTarget is issue 12's: efssync with no manifest takes over a replica
// rsync -a seeded, writing nothing to it, at least this many times faster
// than its own copy of the same set into an empty destination.
const adoptTarget = 5.0

// writeAdoption states the adoption run of each data set measured on the
// mount: its time against efssync's first copy, and the bytes it wrote
// through the mount (which must be 0).
func writeAdoption(b *strings.Builder, cells map[key]*cell) {
	var lines []string
	for _, ds := range dsOrder {
		ad := cells[key{ds, "efs", "efssync", "", "adopt"}]
		first := cells[key{ds, "efs", "efssync", "", "first"}]
		if ad == nil || ad.runs == 0 || first == nil || first.runs == 0 || ad.secs == 0 {
			continue
		}
		written := -1.0
		if ad.opsFile != nil {
			written = ad.opsFile["write_bytes"]
		}
		ratio := first.secs / ad.secs
		verdict := "met"
		if ratio < adoptTarget || written != 0 {
			verdict = "MISSED"
		}
		w := "not counted"
		if written >= 0 {
			w = fmt.Sprintf("%.0f bytes written per file", written)
		}
		lines = append(lines, fmt.Sprintf("- %s, seeded by `rsync -a`, no manifest: %.2f s against %.2f s for the copy (%.1f×), %s: %s",
			dsNames[ds], ad.secs, first.secs, ratio, w, verdict))
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(b, "\n### Adopting an existing replica (issue 12)\n\nefssync's first run against a replica seeded with `rsync -a` "+
		"(behind the mount's back) and no manifest, on the simulated EFS mount, against its own first copy of the same set. "+
		"Target: 0 bytes written and at least %.0f× faster.\n\n", adoptTarget)
	b.WriteString(strings.Join(lines, "\n") + "\n")
}
