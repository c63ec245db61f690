package config

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Shard
		err  string
	}{
		{in: "0/1", want: Shard{0, 1}},
		{in: "3/8", want: Shard{3, 8}},
		{in: "07/08", want: Shard{7, 8}},
		{in: "99999/100000", want: Shard{99999, 100000}},
		{in: "8/8", err: "index 8 is out of range 0..7"},
		{in: "0/0", err: "count must be from 1 to 100000, got 0"},
		{in: "0/100001", err: "count must be from 1 to 100000"},
		{in: "3", err: `"3" is not I/N`},
		{in: "", err: `"" is not I/N`},
		{in: "-1/4", err: `index "-1" is not a whole number`},
		{in: "+1/4", err: `index "+1" is not a whole number`},
		{in: "1/+4", err: `count "+4" is not a whole number`},
		{in: " 1/4", err: "is not a whole number"},
		{in: "1/4/2", err: `count "4/2" is not a whole number`},
		{in: "a/4", err: `index "a" is not a whole number`},
		{in: "1/99999999999999999999", err: "99999999999999999999 is too large"},
	} {
		got, err := ParseShard(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseShard(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("ParseShard(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// FuzzParseShard: never a panic, and an accepted shard is in range and
// prints back to the canonical form of its input.
func FuzzParseShard(f *testing.F) {
	for _, s := range []string{"0/1", "3/8", "8/8", "-1/2", "1/", "/", "0x1/2", "1/2/3", "00/01", "99999/100000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseShard(in)
		if err != nil {
			if s != (Shard{}) {
				t.Fatalf("ParseShard(%q) returned %v with error %v", in, s, err)
			}
			return
		}
		if s.Count < 1 || s.Count > MaxShardCount || s.Index < 0 || s.Index >= s.Count {
			t.Fatalf("ParseShard(%q) accepted %v", in, s)
		}
		back, err := ParseShard(strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Count))
		if err != nil || back != s {
			t.Fatalf("ParseShard(%q) = %v does not round-trip: %v, %v", in, s, back, err)
		}
	})
}

func intp(n int) *int { return &n }

func TestResolveShard(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  ShardSetting
		flag string
		env  []string
		want Shard
		err  string
	}{
		{name: "nothing: whole tree", want: Shard{0, 1}},
		{name: "count 1 alone", set: ShardSetting{Count: 1}, want: Shard{0, 1}},
		{name: "config", set: ShardSetting{Index: intp(2), Count: 4}, want: Shard{2, 4}},
		{name: "config index 0", set: ShardSetting{Index: intp(0), Count: 4}, want: Shard{0, 4}},
		{name: "flag wins over config and env", set: ShardSetting{Index: intp(2), Count: 4}, flag: "5/8",
			env: []string{"JOB_COMPLETION_INDEX=1"}, want: Shard{5, 8}},
		{name: "bad flag", set: ShardSetting{Index: intp(2), Count: 4}, flag: "8/8", err: `--shard "8/8": index 8 is out of range 0..7`},
		{name: "kubernetes", set: ShardSetting{Count: 8}, env: []string{"EFSSYNC_SHARD_COUNT=8", "JOB_COMPLETION_INDEX=7"}, want: Shard{7, 8}},
		{name: "kubernetes out of range", set: ShardSetting{Count: 8}, env: []string{"EFSSYNC_SHARD_COUNT=8", "JOB_COMPLETION_INDEX=8"},
			err: "JOB_COMPLETION_INDEX=8 with EFSSYNC_SHARD_COUNT=8: index 8 is out of range 0..7"},
		{name: "kubernetes not a number", set: ShardSetting{Count: 8}, env: []string{"JOB_COMPLETION_INDEX=x1"},
			err: `JOB_COMPLETION_INDEX: shard index "x1" is not a whole number`},
		{name: "kubernetes without count", env: []string{"JOB_COMPLETION_INDEX=3"},
			err: "JOB_COMPLETION_INDEX=3 gives this agent's index but nothing gives the shard count: set shard.count in the configuration or EFSSYNC_SHARD_COUNT"},
		{name: "batch", set: ShardSetting{Count: 3}, env: []string{"AWS_BATCH_JOB_ARRAY_INDEX=2"}, want: Shard{2, 3}},
		{name: "batch out of range names the key", set: ShardSetting{Count: 3}, env: []string{"AWS_BATCH_JOB_ARRAY_INDEX=3"},
			err: "AWS_BATCH_JOB_ARRAY_INDEX=3 with shard.count=3: index 3 is out of range 0..2"},
		{name: "slurm", env: []string{"SLURM_ARRAY_TASK_ID=4", "SLURM_ARRAY_TASK_COUNT=16"}, want: Shard{4, 16}},
		{name: "slurm count bad", env: []string{"SLURM_ARRAY_TASK_ID=4", "SLURM_ARRAY_TASK_COUNT=many"},
			err: `SLURM_ARRAY_TASK_COUNT: shard count "many" is not a whole number`},
		{name: "slurm re-run of one task refuses its own count", env: []string{"SLURM_ARRAY_TASK_ID=3", "SLURM_ARRAY_TASK_COUNT=1"},
			err: "SLURM_ARRAY_TASK_ID=3 with SLURM_ARRAY_TASK_COUNT=1: index 3 is out of range 0..0"},
		{name: "slurm re-run with the migration's count", set: ShardSetting{Count: 8},
			env: []string{"EFSSYNC_SHARD_COUNT=8", "SLURM_ARRAY_TASK_ID=3", "SLURM_ARRAY_TASK_COUNT=1"}, want: Shard{3, 8}},
		{name: "slurm count ignored for another scheduler", env: []string{"JOB_COMPLETION_INDEX=1", "SLURM_ARRAY_TASK_COUNT=4"},
			err: "nothing gives the shard count"},
		{name: "kubernetes before batch", set: ShardSetting{Count: 4}, env: []string{"AWS_BATCH_JOB_ARRAY_INDEX=2", "JOB_COMPLETION_INDEX=1"}, want: Shard{1, 4}},
		{name: "empty variable is absent", set: ShardSetting{Count: 4}, env: []string{"JOB_COMPLETION_INDEX=", "AWS_BATCH_JOB_ARRAY_INDEX=2"}, want: Shard{2, 4}},
		{name: "config index agreeing with the scheduler", set: ShardSetting{Index: intp(3), Count: 4}, env: []string{"JOB_COMPLETION_INDEX=3"}, want: Shard{3, 4}},
		{name: "config index pinning every task", set: ShardSetting{Index: intp(1), Count: 4}, env: []string{"JOB_COMPLETION_INDEX=3"},
			err: "shard.index=1 but the scheduler sets JOB_COMPLETION_INDEX: remove shard.index where the scheduler gives the index"},
		{name: "config index and a bad scheduler index", set: ShardSetting{Index: intp(1), Count: 4}, env: []string{"SLURM_ARRAY_TASK_ID=x"},
			err: "shard.index=1 but the scheduler sets SLURM_ARRAY_TASK_ID"},
		{name: "flag wins over a conflicting config", set: ShardSetting{Index: intp(1), Count: 4}, flag: "2/4", env: []string{"JOB_COMPLETION_INDEX=3"}, want: Shard{2, 4}},
		{name: "env index named", set: ShardSetting{Index: intp(4), Count: 4}, env: []string{"EFSSYNC_SHARD_INDEX=4"},
			err: "EFSSYNC_SHARD_INDEX=4 with shard.count=4: index 4 is out of range 0..3"},
		{name: "count without index", set: ShardSetting{Count: 4}, err: "shard.count is 4 but nothing gives this agent's index"},
		{name: "index without count", set: ShardSetting{Index: intp(0)}, err: "shard.index=0 gives this agent's index but nothing gives the shard count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResolveShard(tc.set, tc.flag, tc.env)
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("got %v, %v; want error containing %q", got, err, tc.err)
			case tc.err == "" && (err != nil || got != tc.want):
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestShardPath(t *testing.T) {
	s := Shard{3, 8}
	for in, want := range map[string]string{
		"/var/lib/efssync/manifest.db": "/var/lib/efssync/manifest-3-of-8.db",
		"/var/lib/efssync/reports":     "/var/lib/efssync/reports-3-of-8",
		"/var/lib/efssync/reports/":    "/var/lib/efssync/reports-3-of-8",
		"/r/run.jsonl":                 "/r/run-3-of-8.jsonl",
		"/s/.manifest":                 "/s/.manifest-3-of-8",
		"/s/m.tar.gz":                  "/s/m.tar-3-of-8.gz",
		"":                             "",
	} {
		if got := ShardPath(in, s); got != want {
			t.Errorf("ShardPath(%q) = %q, want %q", in, got, want)
		}
	}
	if got := ShardManifestPath("/m.db", Shard{0, 1}); got != "/m.db" {
		t.Errorf("unsharded manifest renamed to %q", got)
	}
	if got := ShardManifestPath("/m.db", Shard{0, 2}); got != "/m-0-of-2.db" {
		t.Errorf("ShardManifestPath = %q", got)
	}
}

func TestLoadShard(t *testing.T) {
	dir := t.TempDir()
	load := func(t *testing.T, shard string, env ...string) (*Config, error) {
		t.Helper()
		p := filepath.Join(dir, "c.yaml")
		doc := shard + "\njobs: [{name: j, source: /s, destinations: [{type: fs, path: /d}]}]\n"
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return Load(p, append(env, "HOME=/home/x"))
	}
	c, err := load(t, "shard: {index: 0, count: 4}")
	if err != nil || c.Shard.Index == nil || *c.Shard.Index != 0 || c.Shard.Count != 4 {
		t.Fatalf("index 0 lost: %+v, %v", c, err)
	}
	c, err = load(t, "")
	if err != nil || c.Shard.Index != nil || c.Shard.Count != 0 {
		t.Fatalf("no shard section: %+v, %v", c, err)
	}
	c, err = load(t, "", "EFSSYNC_SHARD_COUNT=16")
	if err != nil || c.Shard.Count != 16 || c.Shard.Index != nil {
		t.Fatalf("EFSSYNC_SHARD_COUNT: %+v, %v", c, err)
	}
	for _, tc := range []struct{ doc, env, want string }{
		{"shard: {index: 4, count: 4}", "", "shard.index: 4 is out of range 0..3 for shard.count 4"},
		{"shard: {index: -1}", "", "shard.index: must not be negative"},
		{"shard: {count: -2}", "", "shard.count: must be between 1 and 100000, got -2"},
		{"shard: {count: 100001}", "", "shard.count: must be between 1 and 100000"},
		{"shard: {count: x}", "", `shard.count: "x" is not a whole number`},
		{"shard: {index: [1]}", "", "shard.index: must be a whole number, got a list"},
		{"shard: {index: y}", "", `shard.index: "y" is not a whole number`},
		{"shard: {idx: 1}", "", `shard.idx: unknown key (did you mean "index"?)`},
		{"", "EFSSYNC_SHARD_COUNT=abc", `shard.count: "abc" is not a whole number (from EFSSYNC_SHARD_COUNT)`},
		{"", "EFSSYNC_SHARD_INDEX=1.5", `shard.index: "1.5" is not a whole number (from EFSSYNC_SHARD_INDEX)`},
	} {
		var env []string
		if tc.env != "" {
			env = []string{tc.env}
		}
		_, err := load(t, tc.doc, env...)
		var ve *ValidationError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q %q: got %v, want a ValidationError containing %q", tc.doc, tc.env, err, tc.want)
		}
	}
}
