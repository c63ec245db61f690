package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// MaxShardCount bounds the number of shards. Kubernetes caps an Indexed
// Job at 100,000 completions, which is more than AWS Batch (10,000) or a
// default Slurm (1,001) allow; a larger count is a typo, not a plan.
const MaxShardCount = 100000

// ShardCountEnv is the variable that gives the shard count where the
// scheduler gives only the index (Kubernetes Indexed Jobs, AWS Batch arrays).
// It is the ordinary EFSSYNC_* override of the key shard.count.
const ShardCountEnv = "EFSSYNC_SHARD_COUNT"

// The schedulers' variables that carry this agent's index, in the order
// they are consulted.
const (
	EnvKubernetesIndex = "JOB_COMPLETION_INDEX"
	EnvBatchIndex      = "AWS_BATCH_JOB_ARRAY_INDEX"
	EnvSlurmIndex      = "SLURM_ARRAY_TASK_ID"
	// EnvSlurmCount is read only when neither shard.count nor
	// EFSSYNC_SHARD_COUNT is set: a re-run of some array tasks alone
	// (sbatch --array=3) sees its own small count, not the migration's.
	EnvSlurmCount = "SLURM_ARRAY_TASK_COUNT"
)

// Shard names the part of a migration one agent owns when a tree too large
// for one host is split across Count agents, each with its own manifest.
// Index counts from 0, as Kubernetes does. Count 0 or 1 is the whole tree.
type Shard struct {
	// Index is this agent's shard, from 0 to Count-1.
	Index int `json:"index"`
	// Count is how many agents share the tree.
	Count int `json:"count"`
}

// Sharded reports whether the agent owns only part of the tree, which is
// when its manifest and reports carry the shard in their names.
func (s Shard) Sharded() bool { return s.Count > 1 }

// String is the "I-of-N" form carried by the names of a shard's manifest
// and reports, so that they never collide and a summary can count them.
func (s Shard) String() string { return fmt.Sprintf("%d-of-%d", s.Index, s.Count) }

// ShardSetting is the configuration section `shard: {index, count}`. Index
// is a pointer because index 0 is a real shard: nil means "not configured",
// and the scheduler's environment supplies it. A shared config (one
// Kubernetes ConfigMap for every pod) sets only count.
type ShardSetting struct {
	// Index is this agent's shard; nil leaves it to the environment.
	Index *int `mapstructure:"index" yaml:"index,omitempty" json:"index,omitempty"`
	// Count is how many agents share the tree; 0 or 1 is no sharding.
	Count int `mapstructure:"count" yaml:"count,omitempty" json:"count,omitempty"`
}

// check adds the problems of the section that need no environment.
func (s ShardSetting) check(c *checker) {
	if s.Count < 0 || s.Count > MaxShardCount {
		c.add("shard.count", "must be between 1 and %d, got %d", MaxShardCount, s.Count)
	}
	switch {
	case s.Index == nil:
	case *s.Index < 0:
		c.add("shard.index", "must not be negative, got %d", *s.Index)
	case s.Count > 0 && *s.Index >= s.Count:
		c.add("shard.index", "%d is out of range 0..%d for shard.count %d", *s.Index, s.Count-1, s.Count)
	}
}

// ParseShard reads the "I/N" form of --shard: two decimal numbers, N from 1
// to MaxShardCount and I from 0 to N-1.
func ParseShard(text string) (Shard, error) {
	is, ns, ok := strings.Cut(text, "/")
	if !ok {
		return Shard{}, fmt.Errorf("%q is not I/N (e.g. 0/4: the first of four shards)", text)
	}
	n, err := parseDecimal(ns)
	if err != nil {
		return Shard{}, fmt.Errorf("%q: count %w", text, err)
	}
	i, err := parseDecimal(is)
	if err != nil {
		return Shard{}, fmt.Errorf("%q: index %w", text, err)
	}
	s := Shard{Index: i, Count: n}
	if err := s.check(); err != nil {
		return Shard{}, fmt.Errorf("%q: %w", text, err)
	}
	return s, nil
}

// check reports a count or an index out of range.
func (s Shard) check() error {
	if s.Count < 1 || s.Count > MaxShardCount {
		return fmt.Errorf("count must be from 1 to %d, got %d", MaxShardCount, s.Count)
	}
	if s.Index < 0 || s.Index >= s.Count {
		return fmt.Errorf("index %d is out of range 0..%d", s.Index, s.Count-1)
	}
	return nil
}

// errNotNumber is the cause of every index or count that is not plain
// decimal digits.
var errNotNumber = errors.New("is not a whole number")

// parseDecimal accepts plain decimal digits only: no sign, no spaces, no
// "0x"; strconv.Atoi alone would take "+3" and "-0".
func parseDecimal(s string) (int, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q %w", s, errNotNumber)
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s is too large", s)
	}
	return n, nil
}

// ShardPath inserts "-I-of-N" before the extension of the last element of
// path: /var/lib/efssync/manifest.db becomes manifest-3-of-8.db, a report
// directory .../reports becomes reports-3-of-8, and --report run.jsonl
// becomes run-3-of-8.jsonl. Every shard can then share one configuration and
// one state or report volume without two agents opening one manifest, and
// `efssync report summary` finds the shard in the name. An unsharded agent
// keeps path unchanged.
func ShardPath(path string, s Shard) string {
	if !s.Sharded() || path == "" {
		return path
	}
	path = filepath.Clean(path)
	dir, base := filepath.Split(path)
	ext := filepath.Ext(base)
	if ext == base {
		ext = "" // a dotfile such as ".manifest" has no extension
	}
	return dir + strings.TrimSuffix(base, ext) + "-" + s.String() + ext
}

// ShardManifestPath is the manifest of shard s when base is the manifest
// the configuration names (its default or the manifest key).
func ShardManifestPath(base string, s Shard) string { return ShardPath(base, s) }

// Resolved returns the shard a setting names once ResolveShard's result is
// stored back in it (as the command line does before starting the agent):
// a missing index is 0 and a missing count is 1, the whole tree.
func (s ShardSetting) Resolved() Shard {
	out := Shard{Count: max(s.Count, 1)}
	if s.Index != nil {
		out.Index = *s.Index
	}
	return out
}
