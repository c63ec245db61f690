package main

import (
	"slices"
	"sort"
)

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// cell is the summary of the runs of one tool (with one N) for one data
// set, target and phase.
type cell struct {
	n       string
	secs    float64
	rssKB   float64
	runs    int
	failed  int
	opsFile map[string]float64
}

type key struct{ ds, target, tool, n, phase string }

func summarize(rows []row, files map[string]float64) map[key]*cell {
	type acc struct {
		secs, rss []float64
		failed    int
		ops       map[string][]float64
	}
	accs := map[key]*acc{}
	for _, r := range rows {
		k := key{r.ds, r.target, r.tool, r.n, r.phase}
		a := accs[k]
		if a == nil {
			a = &acc{ops: map[string][]float64{}}
			accs[k] = a
		}
		if !r.ok {
			a.failed++
			continue
		}
		a.secs = append(a.secs, r.secs)
		a.rss = append(a.rss, r.rssKB)
		for op, v := range r.ops {
			a.ops[op] = append(a.ops[op], float64(v))
		}
	}
	cells := map[key]*cell{}
	for k, a := range accs {
		c := &cell{n: k.n, secs: median(a.secs), rssKB: median(a.rss), runs: len(a.secs), failed: a.failed}
		if len(a.ops) > 0 && files[k.ds] > 0 {
			c.opsFile = map[string]float64{}
			for op, vs := range a.ops {
				c.opsFile[op] = median(vs) / files[k.ds]
			}
		}
		cells[k] = c
	}
	return cells
}

// best picks, for a tool run with several N, the N whose first sync had
// the lowest median, and returns that N's cell for the phase.
func best(cells map[key]*cell, ds, target, tool, phase string) *cell {
	var bestN string
	bestSecs := -1.0
	for k, c := range cells {
		if k.ds != ds || k.target != target || k.tool != tool || k.phase != "first" || c.runs == 0 {
			continue
		}
		if bestSecs < 0 || c.secs < bestSecs {
			bestN, bestSecs = k.n, c.secs
		}
	}
	if bestSecs < 0 { // no first sync measured: take any N with this phase
		for k := range cells {
			if k.ds == ds && k.target == target && k.tool == tool && k.phase == phase {
				bestN = k.n
			}
		}
	}
	return cells[key{ds, target, tool, bestN, phase}]
}
