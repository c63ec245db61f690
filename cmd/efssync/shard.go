package main

import (
	"errors"
	"fmt"

	"github.com/efssync/efssync/config"
)

// shardFlagUsage documents --shard where the flag is registered.
const shardFlagUsage = "run as shard I of N (0 <= I < N) of a migration split across N agents; " +
	"overrides shard: in the config and the scheduler's JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX or SLURM_ARRAY_TASK_ID"

// errShardsNotWired refuses a run of more than one shard while the agent's
// walk, plan and delete do not filter by shard yet (issue 14: they move to
// the new engine first). N agents that each sync the whole tree would copy
// every file N times. Remove it with the integration.
var errShardsNotWired = errors.New("this build resolves the shard but its agent does not partition the tree yet; run without --shard, shard.count or a scheduler index")

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
	if s.Sharded() {
		return fmt.Errorf("shard %s: %w", s, errShardsNotWired)
	}
	return nil
}
