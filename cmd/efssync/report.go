package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/efssync/efssync/agent/summary"
	"github.com/efssync/efssync/config"
)

// newReportCmd groups the commands that read run reports.
func newReportCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Read run reports (the JSON-lines files a run writes)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newReportSummaryCmd(g), newReportLastCmd(g), newReportFailedCmd(g), newReportShowCmd(g), newReportFilesCmd(g))
	return cmd
}

// newReportSummaryCmd merges the reports of a sharded migration: exit 0 when
// every shard reported and its latest run failed nothing, 1 when a shard
// failed, is damaged or is missing, 2 when the files cannot be read or
// disagree on the shard count.
func newReportSummaryCmd(g *globals) *cobra.Command {
	var count int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "summary FILE...",
		Short: "Merge the shards' reports into one summary: files, bytes and failures per destination",
		Long: "Merge the JSON-lines reports of the shards of one migration. A report's shard is the I-of-N in its path " +
			"(the names a sharded run gives its report directory and --report file). Files, bytes and deletes are summed " +
			"over every report; failures count in each shard's latest report only. Exits 1 if a shard failed, is damaged " +
			"or has no report (the count comes from --count, else from the names).",
		Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, files []string) error {
			if count < 0 || count > config.MaxShardCount {
				return usageError{fmt.Errorf("--count must be from 1 to %d, got %d", config.MaxShardCount, count)}
			}
			reports := make([]*summary.Report, 0, len(files))
			for _, f := range files {
				r, err := summary.ReadFile(f)
				if err != nil {
					return usageError{err}
				}
				reports = append(reports, r)
			}
			return printSummary(g.stdout, reports, count, asJSON)
		},
	}
	cmd.Flags().IntVar(&count, "count", 0, "the number of shards expected (default: the N of the reports' I-of-N names)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON")
	return cmd
}
