package config

import "fmt"

// ResolveShard decides which shard this agent is, so that the same binary
// and configuration run unchanged as every task of a scheduler's array.
//
//  1. flag, the text of --shard I/N, wins over everything.
//  2. Otherwise the index is shard.index (or EFSSYNC_SHARD_INDEX, which
//     Load already applied to set), else the first scheduler variable
//     present among JOB_COMPLETION_INDEX (Kubernetes Indexed Job),
//     AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array) and SLURM_ARRAY_TASK_ID
//     (Slurm array). An empty variable counts as absent. A configured index
//     that differs from the scheduler's is an error: one configuration
//     shared by every task would otherwise make them all one shard.
//  3. The count is shard.count (or EFSSYNC_SHARD_COUNT), else, for a Slurm
//     index only, SLURM_ARRAY_TASK_COUNT.
//
// Neither index nor count (or a count of 1) is the whole tree, Shard{0, 1}.
// An index without a count, a count above 1 without an index, text that is
// not a whole number or an index out of range is an error naming where the
// value came from (the flag, the key or the variable): a usage error, never
// a guess, because a wrong shard copies or deletes another shard's files.
func ResolveShard(set ShardSetting, flag string, env []string) (Shard, error) {
	if flag != "" {
		s, err := ParseShard(flag)
		if err != nil {
			return Shard{}, fmt.Errorf("--shard %w", err)
		}
		return s, nil
	}
	idx, idxFrom, err := shardIndex(set, env)
	if err != nil {
		return Shard{}, err
	}
	count, countFrom, err := shardCount(set, env, idxFrom)
	if err != nil {
		return Shard{}, err
	}
	switch {
	case idxFrom == "" && count <= 1:
		return Shard{Index: 0, Count: 1}, nil
	case idxFrom == "":
		return Shard{}, fmt.Errorf("%s is %d but nothing gives this agent's index: use --shard I/N or shard.index, "+
			"or run under a scheduler that sets %s, %s or %s", countFrom, count, EnvKubernetesIndex, EnvBatchIndex, EnvSlurmIndex)
	case count == 0:
		return Shard{}, fmt.Errorf("%s=%d gives this agent's index but nothing gives the shard count: set shard.count in the configuration or %s",
			idxFrom, idx, ShardCountEnv)
	}
	s := Shard{Index: idx, Count: count}
	if err := s.check(); err != nil {
		return Shard{}, fmt.Errorf("%s=%d with %s=%d: %w", idxFrom, idx, countFrom, count, err)
	}
	return s, nil
}

// shardIndex finds the index and the name of its source; "" when none.
func shardIndex(set ShardSetting, env []string) (int, string, error) {
	n, name, err := schedulerIndex(env)
	if set.Index == nil {
		return n, name, err
	}
	from := "shard.index"
	if _, ok := lookupEnv(env, "EFSSYNC_SHARD_INDEX"); ok {
		from = "EFSSYNC_SHARD_INDEX"
	}
	// A configuration shared by a scheduler's tasks must not pin them all
	// to one shard.
	if name != "" && (err != nil || n != *set.Index) {
		return 0, from, fmt.Errorf("%s=%d but the scheduler sets %s: remove %s where the scheduler gives the index, or use --shard",
			from, *set.Index, name, from)
	}
	return *set.Index, from, nil
}

// schedulerIndex reads the first scheduler variable that is set.
func schedulerIndex(env []string) (int, string, error) {
	for _, name := range []string{EnvKubernetesIndex, EnvBatchIndex, EnvSlurmIndex} {
		v, ok := lookupEnv(env, name)
		if !ok || v == "" {
			continue
		}
		n, err := parseDecimal(v)
		if err != nil {
			return 0, name, fmt.Errorf("%s: shard index %w", name, err)
		}
		return n, name, nil
	}
	return 0, "", nil
}

// shardCount finds the count and the name of its source; 0 when none.
func shardCount(set ShardSetting, env []string, idxFrom string) (int, string, error) {
	if set.Count > 0 {
		if _, ok := lookupEnv(env, ShardCountEnv); ok {
			return set.Count, ShardCountEnv, nil
		}
		return set.Count, "shard.count", nil
	}
	if idxFrom != EnvSlurmIndex {
		return 0, "", nil
	}
	v, ok := lookupEnv(env, EnvSlurmCount)
	if !ok || v == "" {
		return 0, "", nil
	}
	n, err := parseDecimal(v)
	if err != nil {
		return 0, "", fmt.Errorf("%s: shard count %w", EnvSlurmCount, err)
	}
	return n, EnvSlurmCount, nil
}
