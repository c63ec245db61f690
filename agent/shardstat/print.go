package shardstat

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"
)

// total is the whole tree's share.
func (t *Tally) total() Share {
	var sum Share
	for _, s := range t.Shards {
		sum.Files += s.Files
		sum.Bytes += s.Bytes
	}
	return sum
}

// deviations is shard i's distance from the mean, in percent of it, in
// files and in bytes.
func (t *Tally) deviations(i int) (files, bytes float64) {
	sum, n := t.total(), float64(len(t.Shards))
	return deviation(float64(t.Shards[i].Files), float64(sum.Files)/n),
		deviation(float64(t.Shards[i].Bytes), float64(sum.Bytes)/n)
}

// Worst is the largest deviation of any shard from the mean, in percent of
// it, in files and in bytes: the figures to judge N by.
func (t *Tally) Worst() (files, bytes float64) {
	for i := range t.Shards {
		f, b := t.deviations(i)
		files, bytes = max(files, math.Abs(f)), max(bytes, math.Abs(b))
	}
	return files, bytes
}

// WriteText prints one row per shard with its deviation from the mean, and
// the worst deviation last.
func (t *Tally) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "shard\tfiles\t±mean\tbytes\t±mean\t")
	for i, s := range t.Shards {
		df, db := t.deviations(i)
		fmt.Fprintf(tw, "%d\t%d\t%+.1f%%\t%d\t%+.1f%%\t\n", i, s.Files, df, s.Bytes, db)
	}
	sum := t.total()
	fmt.Fprintf(tw, "total\t%d\t\t%d\t\t\n", sum.Files, sum.Bytes)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write shard tally: %w", err)
	}
	worstF, worstB := t.Worst()
	_, err := fmt.Fprintf(w, "\ndirectories (listed by every shard): %d; worst shard: files ±%.1f%%, bytes ±%.1f%% of the mean\n",
		t.Dirs, worstF, worstB)
	if err != nil {
		return fmt.Errorf("write shard tally: %w", err)
	}
	return nil
}

// deviation is v's distance from mean in percent of it; 0 for an empty mean.
func deviation(v, mean float64) float64 {
	if mean == 0 {
		return 0
	}
	return 100 * (v - mean) / mean
}
