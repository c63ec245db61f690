package shardstat

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"
)

// WriteText prints one row per shard with its deviation from the mean, and
// the worst deviation last: the figure to judge N by.
func (t *Tally) WriteText(w io.Writer) error {
	var files, bytes int64
	for _, s := range t.Shards {
		files += s.Files
		bytes += s.Bytes
	}
	n := float64(len(t.Shards))
	meanF, meanB := float64(files)/n, float64(bytes)/n
	var worstF, worstB float64
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "shard\tfiles\t±mean\tbytes\t±mean\t")
	for i, s := range t.Shards {
		df, db := deviation(float64(s.Files), meanF), deviation(float64(s.Bytes), meanB)
		worstF, worstB = max(worstF, math.Abs(df)), max(worstB, math.Abs(db))
		fmt.Fprintf(tw, "%d\t%d\t%+.1f%%\t%d\t%+.1f%%\t\n", i, s.Files, df, s.Bytes, db)
	}
	fmt.Fprintf(tw, "total\t%d\t\t%d\t\t\n", files, bytes)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write shard tally: %w", err)
	}
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
