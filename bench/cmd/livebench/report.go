package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"
)

// LiveResult is the viewer-visible lag of one replica: how long after the
// source playlist listed a segment the replica's playlist listed it too.
type LiveResult struct {
	Tool       string    `json:"tool"`
	Dest       string    `json:"dest"`
	Segments   int       `json:"segments"`    // listed at the source and later at the replica
	SourceSegs int       `json:"source_segs"` // listed at the source
	P50ms      float64   `json:"p50_ms"`      // median lag
	P99ms      float64   `json:"p99_ms"`      // 99th percentile lag (nearest rank)
	Maxms      float64   `json:"max_ms"`      // worst lag
	Meanms     float64   `json:"mean_ms"`     // mean lag
	Violations int       `json:"violations"`  // distinct segments listed before complete
	BadPolls   int       `json:"bad_polls"`   // polls that confirmed a violation
	Examples   []string  `json:"examples,omitempty"`
	Never      []string  `json:"never_listed,omitempty"` // listed at the source, never at the replica
	LagsMs     []float64 `json:"lags_ms"`
}

// BigResult is how long after the writer closed a large file each replica
// held it whole.
type BigResult struct {
	Tool      string  `json:"tool"`
	Dest      string  `json:"dest"`
	LagMs     float64 `json:"lag_ms"`    // close() to complete at the replica; -1 if never
	Identical bool    `json:"identical"` // full BLAKE3 equal to the source afterwards
	Note      string  `json:"note,omitempty"`
}

// percentile is the nearest-rank percentile q (0..100) of sorted values.
func percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	rank := int(math.Ceil(q / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }

// liveResults turns the poller's observations into one row per replica.
func liveResults(p *poller) []LiveResult {
	var out []LiveResult
	for _, ds := range p.dests {
		r := LiveResult{Tool: ds.d.tool, Dest: ds.d.kind, SourceSegs: len(p.srcSeen), Violations: len(ds.badSegs), BadPolls: ds.badPolls, Examples: ds.details}
		var sum float64
		for s, at := range ds.firstSeen {
			src, ok := p.srcSeen[s]
			if !ok {
				continue
			}
			lag := ms(at.Sub(src))
			if lag < 0 {
				lag = 0
			}
			r.LagsMs = append(r.LagsMs, lag)
			sum += lag
		}
		for s := range p.srcSeen {
			if _, ok := ds.firstSeen[s]; !ok {
				r.Never = append(r.Never, s)
			}
		}
		sort.Strings(r.Never)
		sort.Float64s(r.LagsMs)
		r.Segments = len(r.LagsMs)
		if r.Segments > 0 {
			r.P50ms = percentile(r.LagsMs, 50)
			r.P99ms = percentile(r.LagsMs, 99)
			r.Maxms = r.LagsMs[len(r.LagsMs)-1]
			r.Meanms = math.Round(sum/float64(r.Segments)*100) / 100
		}
		out = append(out, r)
	}
	return out
}

func fmtMs(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.0f", v)
}

// writeMarkdown writes the result tables.
func writeMarkdown(w io.Writer, live []LiveResult, big []BigResult, bigSize int64, bigRate float64) {
	fmt.Fprintln(w, "| tool | destination | segments | p50 lag (ms) | p99 lag (ms) | max (ms) | mean (ms) | violations |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|")
	for _, r := range live {
		viol := fmt.Sprint(r.Violations)
		if r.Violations > 0 {
			viol = fmt.Sprintf("**%d** (%d polls)", r.Violations, r.BadPolls)
		}
		fmt.Fprintf(w, "| %s | %s | %d of %d | %s | %s | %s | %s | %s |\n", r.Tool, destLabel(r.Dest), r.Segments, r.SourceSegs,
			fmtMs(r.P50ms), fmtMs(r.P99ms), fmtMs(r.Maxms), fmtMs(r.Meanms), viol)
	}
	var ex []string
	for _, r := range live {
		for _, e := range r.Examples {
			ex = append(ex, fmt.Sprintf("%s/%s %s", r.Tool, r.Dest, e))
			if len(ex) >= 12 {
				break
			}
		}
	}
	if len(ex) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "First violations observed (a replica playlist listing a segment the replica did not hold whole, confirmed by re-reading the unchanged playlist):")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "```")
		fmt.Fprintln(w, strings.Join(ex, "\n"))
		fmt.Fprintln(w, "```")
	}
	if len(big) > 0 {
		fmt.Fprintln(w)
		writeBig(w, big, bigSize, bigRate)
	}
	fmt.Fprintln(w)
	writeTargets(w, live, big)
}

func writeBig(w io.Writer, big []BigResult, bigSize int64, bigRate float64) {
	fmt.Fprintf(w, "Large file: %d MiB written at %.0f MiB/s; time from the writer's close() until the replica holds the whole file (full size and 64 sampled 4 KiB blocks equal; full BLAKE3 compared afterwards):\n\n", bigSize>>20, bigRate)
	fmt.Fprintln(w, "| tool | destination | complete after close (ms) | identical |")
	fmt.Fprintln(w, "|---|---|---:|---|")
	for _, r := range big {
		lag := fmtMs(r.LagMs)
		if r.LagMs < 0 {
			lag = "never (" + r.Note + ")"
		}
		id := "yes"
		if !r.Identical {
			id = "**no**"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.Tool, destLabel(r.Dest), lag, id)
	}
}

func destLabel(kind string) string {
	if kind == "fuse" {
		return "latency-injected FUSE"
	}
	return "plain tmpfs"
}

// writeTargets checks the three targets of the live use case: no playlist
// ahead of its segments, p99 lag on the simulated mount at most half of
// lsyncd's, and a large file complete within 1 s of its close.
func writeTargets(w io.Writer, live []LiveResult, big []BigResult) {
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**missed**"
	}
	viol := 0
	var effuse *LiveResult
	for i, r := range live {
		if r.Tool == "efssync" {
			viol += r.Violations
			if r.Dest == "fuse" {
				effuse = &live[i]
			}
		}
	}
	fmt.Fprintf(w, "- efssync playlist-before-segment violations: %d (target 0): %s\n", viol, verdict(viol == 0))
	for _, r := range live {
		if r.Tool == "efssync" || r.Dest != "fuse" || effuse == nil || r.Segments == 0 {
			continue
		}
		fmt.Fprintf(w, "- p99 lag on the latency-injected mount: efssync %s ms vs %s %s ms, ratio %.2f (target ≤ 0.5): %s\n",
			fmtMs(effuse.P99ms), r.Tool, fmtMs(r.P99ms), effuse.P99ms/r.P99ms, verdict(effuse.P99ms <= r.P99ms/2))
	}
	for _, r := range big {
		if r.Tool != "efssync" {
			continue
		}
		ok := r.LagMs >= 0 && r.LagMs <= 1000 && r.Identical
		fmt.Fprintf(w, "- large file complete at efssync's %s destination %s ms after close (target ≤ 1000): %s\n", destLabel(r.Dest), fmtMs(r.LagMs), verdict(ok))
	}
}
