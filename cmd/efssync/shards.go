package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/efssync/efssync/agent/shardstat"
	"github.com/efssync/efssync/config"
)

// newShardsCmd walks the sources dry and prints the files and bytes per
// shard, to choose N before starting N hosts. It opens no manifest, so it
// runs beside a running agent.
func newShardsCmd(g *globals) *cobra.Command {
	var jobs []string
	var count int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "shards",
		Short: "Walk the sources dry and print the files and bytes each of --count shards would own",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.shard != "" {
				return usageError{fmt.Errorf("--shard: efssync shards tallies every shard; give their number with --count")}
			}
			if g.config == "" {
				return usageError{fmt.Errorf("--config is required")}
			}
			cfg, err := config.Load(g.config, os.Environ())
			if err != nil {
				return usageError{err}
			}
			if count == 0 {
				count = cfg.Shard.Count
			}
			if count < 1 || count > config.MaxShardCount {
				return usageError{fmt.Errorf("--count must be from 1 to %d (or set shard.count), got %d", config.MaxShardCount, count)}
			}
			for _, name := range jobs {
				if !slices.ContainsFunc(cfg.Jobs, func(j config.Job) bool { return j.Name == name }) {
					return usageError{fmt.Errorf("--job %s: no such job in the configuration", name)}
				}
			}
			t, err := shardstat.Count(cmd.Context(), cfg, jobs, count)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(t)
			}
			return t.WriteText(g.stdout)
		},
	}
	cmd.Flags().IntVar(&count, "count", 0, "the number of shards (default: shard.count of the configuration)")
	cmd.Flags().StringSliceVar(&jobs, "job", nil, "walk only this job (repeatable)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the tally as JSON")
	return cmd
}
