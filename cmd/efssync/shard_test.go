package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/efssync/efssync/agent"
	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/internal/treetest"
)

// TestReportSummary merges the reports of real runs, as two shards would
// write them (each its own source half, config and manifest, one shared
// destination), then adds a failed and a missing shard.
func TestReportSummary(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	dirs := mkdirs(t, base, "a", "b", "dst", "cfg0", "cfg1", "reports")
	dst, reports := dirs[2], dirs[5]
	var files []string
	for i := range 2 {
		treetest.Write(t, dirs[i], map[string]string{"x.txt": "hello\n", "sub/y.bin": "0123456789"})
		cfg := writeConfig(t, dirs[3+i], job{source: dirs[i], dests: []string{filepath.Join(dst, dirs[i][len(base):])}})
		mkdirs(t, dst, dirs[i][len(base):])
		rep := filepath.Join(reports, config.Shard{Index: i, Count: 2}.String(), "run.jsonl")
		mustCode(t, efssync(t, nil, "run", "--config", cfg, "--report", rep), 0)
		files = append(files, rep)
	}

	r := efssync(t, nil, append([]string{"report", "summary"}, files...)...)
	mustCode(t, r, 0)
	for _, want := range []string{filepath.Join(dst, "a"), filepath.Join(dst, "b"), "in sync: all 2 shards reported"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	}
	r = efssync(t, nil, append([]string{"report", "summary", "--json"}, files...)...)
	mustCode(t, r, 0)
	var js struct {
		OK    bool `json:"ok"`
		Count int  `json:"count"`
		Dests map[string]struct {
			Files, Bytes, Failed int64
		} `json:"destinations"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	if d := js.Dests[filepath.Join(dst, "a")]; !js.OK || js.Count != 2 || d.Files != 2 || d.Bytes != 16 || d.Failed != 0 {
		t.Errorf("--json: %+v", js)
	}

	// Expecting three shards: the third is missing.
	r = efssync(t, nil, append([]string{"report", "summary", "--count", "3"}, rename(t, files, "2", "3")...)...)
	mustCode(t, r, 1)
	if !strings.Contains(r.stdout, "missing: 1 of 3 shards have no report: 2") {
		t.Errorf("no missing shard:\n%s", r.stdout)
	}
	// The third shard reports a failure at the destination.
	failed := filepath.Join(reports, "run-2-of-3.jsonl")
	line, _ := json.Marshal(agent.Line{Time: time.Now(), Job: "e2e", Path: "z", Dest: dst, Action: "copy", Status: agent.StatusFailed, Error: "EIO"})
	if err := os.WriteFile(failed, append(line, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	r = efssync(t, nil, append([]string{"report", "summary"}, append(rename(t, files, "2", "3"), failed)...)...)
	mustCode(t, r, 1)
	if !strings.Contains(r.stdout, "2-of-3  failed") || !strings.Contains(r.stdout, "NOT in sync") {
		t.Errorf("no failed shard:\n%s", r.stdout)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{filepath.Join(reports, "nope-0-of-1.jsonl")}, "nope-0-of-1.jsonl: no such file or directory"},
		{[]string{files[0], failed}, "is shard 2-of-3, but"},
		{[]string{"--count", "-1", files[0]}, "--count must be from 1 to 100000"},
		{nil, "requires at least 1 arg"},
	} {
		r := efssync(t, nil, append([]string{"report", "summary"}, tc.args...)...)
		mustCode(t, r, 2)
		if !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: stderr %q lacks %q", tc.args, r.stderr, tc.want)
		}
	}
}

// rename copies each report to a name with "-of-"+to in place of "-of-"+from.
func rename(t *testing.T, files []string, from, to string) []string {
	t.Helper()
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n := strings.ReplaceAll(f, "-of-"+from, "-of-"+to)
		if err := os.MkdirAll(filepath.Dir(n), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(n, b, 0o600); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// TestShardSelection: a wrong shard from the flag, the config or the
// scheduler's environment exits 2 naming where it came from.
func TestShardSelection(t *testing.T) {
	t.Parallel()
	dirs := mkdirs(t, t.TempDir(), "src", "dst", "cfg")
	treetest.Write(t, dirs[0], map[string]string{"f": "x"})
	cfg := writeConfig(t, dirs[2], job{source: dirs[0], dests: []string{dirs[1]}})
	for _, tc := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"--shard", "4/4"}, `--shard "4/4": index 4 is out of range 0..3`},
		{nil, []string{"--shard", "x"}, `--shard "x" is not I/N`},
		{[]string{"EFSSYNC_SHARD_COUNT=4", "JOB_COMPLETION_INDEX=abc"}, nil, `JOB_COMPLETION_INDEX: shard index "abc" is not a whole number`},
		{[]string{"EFSSYNC_SHARD_COUNT=4", "JOB_COMPLETION_INDEX=4"}, nil, "JOB_COMPLETION_INDEX=4 with EFSSYNC_SHARD_COUNT=4: index 4 is out of range 0..3"},
		{[]string{"EFSSYNC_SHARD_COUNT=four"}, nil, `shard.count: "four" is not a whole number (from EFSSYNC_SHARD_COUNT)`},
		{[]string{"AWS_BATCH_JOB_ARRAY_INDEX=2"}, nil, "AWS_BATCH_JOB_ARRAY_INDEX=2 gives this agent's index but nothing gives the shard count"},
		{[]string{"SLURM_ARRAY_TASK_ID=3", "SLURM_ARRAY_TASK_COUNT=1"}, nil, "SLURM_ARRAY_TASK_ID=3 with SLURM_ARRAY_TASK_COUNT=1: index 3 is out of range 0..0"},
	} {
		r := efssync(t, tc.env, append([]string{"run", "--config", cfg}, tc.args...)...)
		mustCode(t, r, 2)
		if !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v %v: stderr %q lacks %q", tc.env, tc.args, r.stderr, tc.want)
		}
	}
	// 0/1 is the whole tree under the unsharded manifest.
	mustCode(t, efssync(t, []string{"JOB_COMPLETION_INDEX=0", "EFSSYNC_SHARD_COUNT=1"}, "run", "--config", cfg), 0)
	mustCode(t, efssync(t, nil, "run", "--shard", "0/1", "--config", cfg), 0)
	if m, _ := filepath.Glob(filepath.Join(dirs[2], "state", "manifests", "*.db")); len(m) != 1 || strings.Contains(m[0], "-of-") {
		t.Errorf("unsharded manifest: want one derived manifest without I-of-N, have %v", m)
	}
}

// TestApplyShardNames: a shard's manifest and reports carry I-of-N, and the
// resolved shard is stored back for the agent.
func TestApplyShardNames(t *testing.T) {
	cfg := &config.Config{Manifest: "/st/manifest.db", ReportDir: "/st/reports", Shard: config.ShardSetting{Count: 8}}
	if err := applyShard(cfg, "", []string{"JOB_COMPLETION_INDEX=5"}); err != nil {
		t.Fatalf("applyShard: %v", err)
	}
	if cfg.Manifest != "/st/manifest-5-of-8.db" || cfg.ReportDir != "/st/reports-5-of-8" || cfg.Shard.Resolved() != (config.Shard{Index: 5, Count: 8}) {
		t.Errorf("cfg after applyShard: %+v, shard %v", cfg, cfg.Shard.Resolved())
	}
	watch := &config.Config{Jobs: []config.Job{{Name: "live", Mode: "watch"}}, Shard: config.ShardSetting{Count: 2}}
	if err := applyShard(watch, "", []string{"JOB_COMPLETION_INDEX=1"}); !errors.Is(err, errShardedWatch) || !strings.Contains(err.Error(), "shard 1-of-2:") {
		t.Errorf("a sharded watch: %v", err)
	}
	cfg = &config.Config{Manifest: "/st/manifest.db", ReportDir: "/st/reports"}
	if err := applyShard(cfg, "", nil); err != nil || cfg.Manifest != "/st/manifest.db" || cfg.Shard.Resolved() != (config.Shard{Index: 0, Count: 1}) {
		t.Errorf("unsharded: %+v, %v", cfg, err)
	}
}

// TestShardsDryWalk: `efssync shards` tallies the source per shard without
// a manifest or a destination write, and refuses a bad count or job.
func TestShardsDryWalk(t *testing.T) {
	t.Parallel()
	dirs := mkdirs(t, t.TempDir(), "src", "dst", "cfg")
	rels := treetest.Random(t, dirs[0], 3, 400, 4<<10)
	cfg := writeConfig(t, dirs[2], job{source: dirs[0], dests: []string{dirs[1]}})
	r := efssync(t, nil, "shards", "--config", cfg, "--count", "4", "--json")
	mustCode(t, r, 0)
	var tally struct {
		Shards []struct{ Files, Bytes int64 }
	}
	if err := json.Unmarshal([]byte(r.stdout), &tally); err != nil || len(tally.Shards) != 4 {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	var files int64
	for _, s := range tally.Shards {
		files += s.Files
	}
	if files != int64(len(rels)) {
		t.Errorf("the shards own %d files, the tree has %d", files, len(rels))
	}
	r = efssync(t, nil, "shards", "--config", cfg, "--count", "4")
	mustCode(t, r, 0)
	if !strings.Contains(r.stdout, "worst shard: files ±") {
		t.Errorf("text output:\n%s", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(dirs[2], "state")); err == nil {
		t.Error("the dry walk created the state directory")
	}
	if entries, _ := os.ReadDir(dirs[1]); len(entries) != 0 {
		t.Errorf("the dry walk wrote %d entries to the destination", len(entries))
	}
	mustCode(t, efssync(t, nil, "shards", "--config", cfg), 2)
	mustCode(t, efssync(t, nil, "shards", "--config", cfg, "--count", "2", "--shard", "1/2"), 2)
	mustCode(t, efssync(t, nil, "shards", "--config", cfg, "--count", "2", "--job", "nope"), 2)
}
