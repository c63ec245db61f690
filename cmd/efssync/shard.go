package main

import (
	"errors"
	"fmt"

	"github.com/efssync/efssync/config"
)

// shardFlagUsage documents --shard where the flag is registered.
const shardFlagUsage = "run as shard I of N (0 <= I < N) of a migration split across N agents; " +
	"overrides shard: in the config and the scheduler's JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX or SLURM_ARRAY_TASK_ID"

// errShardedWatch refuses watch mode with more than one shard: the live
// loop follows every file it is told about, and a sharded migration is a
// series of once-mode runs until cut-over (docs/scale-out.md).
var errShardedWatch = errors.New("mode: watch cannot be sharded; run a sharded migration in mode: once")

// applyShard decides this agent's shard (flag, then the configuration, then
// the scheduler's environment) and gives the manifest and the report
// directory their I-of-N names, so shards sharing one configuration and one
// state volume never open one manifest. The resolved shard is stored back
// in cfg.Shard, where the agent reads it with cfg.Shard.Resolved().
func applyShard(cfg *config.Config, flag string, env []string) error {
	s, err := config.ResolveShard(cfg.Shard, flag, env)
	if err != nil {
		return err
	}
	cfg.Shard = config.ShardSetting{Index: &s.Index, Count: s.Count}
	cfg.Manifest = config.ShardManifestPath(cfg.Manifest, s)
	cfg.ReportDir = config.ShardPath(cfg.ReportDir, s)
	for _, j := range cfg.Jobs {
		if s.Sharded() && j.Mode == "watch" {
			return fmt.Errorf("shard %s: job %s: %w", s, j.Name, errShardedWatch)
		}
	}
	return nil
}
