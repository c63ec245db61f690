package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Load as a YAML file. Load must
// never panic, must return either a config or an error, and a config it
// accepts must validate and survive printing and reloading unchanged.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"jobs: [{name: j, source: /s, exclude: ['*.tmp'], max-delete: 5%, destinations: [{type: fs, path: /d}]}]",
		"jobs: [{name: j, source: /s, quiet: 3, finished: {quiet: 1m}, destinations: [{type: s3, bucket: bkt, part_size: 8MiB, tags: {A: 1}}]}]",
		"state_dir: /st\nlog_level: warn\nmetrics: {listen: ':9090'}\njobs:\n- {name: a, source: /a, destinations: [{type: fs, path: /b}]}\n",
		"jobs: [{exlude: [x], destinations: [{type: s3, endpoint: 'http://u:p@h'}]}]",
		"jobs: [{name: r, source: {type: s3, bucket: bkt, prefix: a/, as_of: '2024-05-06T07:08:09Z', glacier: {restore: true}}, destinations: [{type: fs, path: /d}]}]",
		"jobs: [{name: r, source: {path: /s}, destinations: [{type: fs, path: /d}]}]",
		"jobs: [{}, null, 3]\n", "? [a]\n: b\n", "jobs:\n  - &a {name: x}\n  - *a\n",
		"shard: {index: 0, count: 2}\njobs: [{name: j, source: /s, destinations: [{type: fs, path: /d}]}]\n",
		"{}", "", "[]", "jobs = 3",
		"jobs: [{name: j, source: /s, bwlimit: 'Mon-08:00,1M 19:00,off', destinations: [{type: fs, path: /d}]}]",
		"jobs: [{name: j, source: /s, bwlimit: ' ', destinations: [{type: fs, path: /d}]}]",
		"Jobs: [{Name: j, Source: /s, Max-Delete: 3, Destinations: [{Type: fs, Path: /d}]}]\n1: x\n",
		"jobs: [{name: j, source: /s, checkers: 1.5, checksum: 1, bandwidth: -1, destinations: {type: fs}}]",
	} {
		f.Add([]byte(s))
	}
	env := []string{"HOME=/home/fuzz", "EFSSYNC_JOBS_0_CHECKERS=2"}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(p, env)
		if err != nil {
			if c != nil {
				t.Fatalf("Load returned both a config and %v", err)
			}
			var ve *ValidationError
			if errors.As(err, &ve) && len(ve.Problems) == 0 {
				t.Fatalf("ValidationError without problems")
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("loaded config does not validate: %v", err)
		}
		out, err := c.YAML()
		if err != nil {
			t.Fatalf("YAML: %v", err)
		}
		back := filepath.Join(dir, "back.yaml")
		if err := os.WriteFile(back, out, 0o600); err != nil {
			t.Fatal(err)
		}
		c2, err := Load(back, nil)
		if err != nil {
			t.Fatalf("printed config does not load: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("printed config reloads differently:\n%s\n%+v\n%+v", out, c, c2)
		}
	})
}
