package config

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// An endpoint's query string and userinfo may carry secrets: neither the
// printed configuration, a destination's or source's description, nor a
// validation error shows them.
func TestEndpointSecretsAreNeverPrinted(t *testing.T) {
	for _, ep := range []string{
		"https://minio.local:9000/?secret=hunter2",
		"https://minio.local:9000/#hunter2",
		"https://k:hunter2@minio.local:9000/?x=hunter2",
	} {
		yaml := fmt.Sprintf("jobs:\n  - name: j\n    source: {type: s3, bucket: bkt, endpoint: %q}\n    destinations:\n      - {type: fs, path: /dst}\n  - name: k\n    source: /src\n    destinations:\n      - {type: s3, bucket: bkt, endpoint: %q}\n", ep, ep)
		cfg, err := Load(writeConfig(t, "c.yaml", yaml), testEnv)
		var printed string
		if err != nil {
			printed = err.Error()
		} else {
			out, yerr := cfg.YAML()
			if yerr != nil {
				t.Fatal(yerr)
			}
			printed = string(out) + cfg.Jobs[0].From.String() + cfg.Jobs[1].Destinations[0].String()
			if !strings.Contains(printed, "minio.local:9000") {
				t.Errorf("%s: the endpoint's host is gone from %s", ep, printed)
			}
		}
		if strings.Contains(printed, "hunter2") {
			t.Errorf("%s: printed the secret:\n%s", ep, printed)
		}
	}
	_, err := Load(writeConfig(t, "c.yaml", badS3("endpoint: 'minio:9000/?secret=hunter2'")), testEnv)
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "endpoint: must be an http") {
		t.Errorf("invalid endpoint: %v", err)
	}
}

// The metrics textfile is rewritten every run: inside a source it would be
// copied every run, inside a destination a mirror delete would remove it.
func TestMetricsTextfileOutsideSourcesAndDestinations(t *testing.T) {
	base := overlapTree(t)
	at := func(p string) string { return filepath.Join(base, p) }
	for _, c := range []struct{ textfile, want string }{
		{at("src-link/efssync.prom"), `metrics.textfile: "` + at("src-link/efssync.prom") + `" is inside jobs[0].source`},
		{at("dst-link/sub/efssync.prom"), `metrics.textfile: "` + at("dst-link/sub/efssync.prom") + `" is inside jobs[0].destinations[0].path`},
		{at("state/efssync.prom"), ""},
		{at("other/efssync.prom"), ""},
	} {
		cfg := &Config{StateDir: at("state"), Metrics: Metrics{Textfile: c.textfile},
			Jobs: []Job{{Name: "j", Source: at("src"), Destinations: fsDests(at("dst"))}}}
		cfg.SetDefaults(nil)
		err := cfg.Validate()
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.textfile, err)
			}
			continue
		}
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Problems) != 1 || !strings.HasPrefix(ve.Problems[0], c.want) {
			t.Errorf("%s: %v, want one problem starting %q", c.textfile, err, c.want)
		}
	}
}

// A NUL byte cannot be in a path the kernel accepts: refuse it, naming the key.
func TestNULInPathKeysIsRefused(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{strings.Replace(badJob("", ""), "source: /src", `source: "/src\0/x"`, 1), `jobs[0].source: must not contain a NUL byte`},
		{strings.Replace(badJob("", ""), "path: /dst", `path: "/dst\0"`, 1), `jobs[0].destinations[0].path: must not contain a NUL byte`},
		{`state_dir: "/st\0"` + "\n" + badJob("", ""), `state_dir: must not contain a NUL byte`},
		{`metrics: {textfile: "/m\0.prom"}` + "\n" + badJob("", ""), `metrics.textfile: must not contain a NUL byte`},
		{badS3(`prefix: "a\0b"`), `jobs[0].destinations[0].prefix: must not contain a NUL byte`},
	} {
		p := problemsOf(t, "c.yaml", c.yaml, testEnv)
		found := false
		for _, m := range p {
			found = found || strings.HasPrefix(m, c.want)
		}
		if !found {
			t.Errorf("problems %q, want one starting %q", p, c.want)
		}
	}
}

// manyJobs builds n jobs with distinct sources and destinations below base.
func manyJobs(base string, n int) *Config {
	cfg := &Config{StateDir: filepath.Join(base, "state")}
	for i := range n {
		cfg.Jobs = append(cfg.Jobs, Job{Name: fmt.Sprintf("j%d", i), Source: filepath.Join(base, "src", fmt.Sprint(i)),
			Destinations: fsDests(filepath.Join(base, "dst", fmt.Sprint(i)))})
	}
	cfg.SetDefaults(nil)
	return cfg
}

// Validation grows with the number of jobs, not with its square: 20,000
// jobs took 410 s when every destination was compared with every other.
// Allocations stand for the work done (a comparison allocates), so ten
// times the jobs must cost about ten times the allocations, not a hundred.
func TestValidateManyJobsIsNearLinear(t *testing.T) {
	base := t.TempDir()
	small, large := manyJobs(base, 2000), manyJobs(base, 20000)
	allocs := func(cfg *Config) float64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return float64(after.Mallocs - before.Mallocs)
	}
	a, b := allocs(small), allocs(large)
	t.Logf("2,000 jobs: %.0f allocations, 20,000 jobs: %.0f (%.1fx)", a, b, b/a)
	if b > 15*a {
		t.Errorf("2,000 jobs: %.0f allocations, 20,000 jobs: %.0f (%.1fx); want at most 15x", a, b, b/a)
	}
}

// A canceled validation returns at once with the context's error.
func TestValidateStopsWhenCanceled(t *testing.T) {
	cfg := manyJobs(t.TempDir(), 100)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := cfg.ValidateContext(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("ValidateContext: %v, want context.Canceled", err)
	}
	if err := cfg.CheckOverlapsContext(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("CheckOverlapsContext: %v, want context.Canceled", err)
	}
	path := writeConfig(t, "c.yaml", badJob("", ""))
	if _, err := LoadContext(ctx, path, testEnv); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), path) {
		t.Errorf("LoadContext: %v, want context.Canceled naming the file", err)
	}
}

// Defect #2: a job that deletes its source after archiving must not share
// that source with another job, which would never see the files.
func TestSharedSourceWithArchiveDeleteIsRefused(t *testing.T) {
	base := overlapTree(t)
	at := func(p string) string { return filepath.Join(base, p) }
	archive := func(name, src, dst string) Job {
		return Job{Name: name, Source: src, Destinations: fsDests(dst), AfterArchive: "delete", Finished: Finished{Quiet: Duration(1e9)}}
	}
	plain := func(name, src, dst string) Job { return Job{Name: name, Source: src, Destinations: fsDests(dst)} }
	for _, c := range []struct {
		name string
		jobs []Job
		want string
	}{
		{"same source through a link", []Job{plain("a", at("src"), at("dst/a")), archive("b", at("src-link"), at("dst/b"))},
			`jobs[1].source: "` + at("src-link") + `" is the same directory as jobs[0].source`},
		{"archiving source inside the other", []Job{archive("a", at("src/sub"), at("dst/a")), plain("b", at("src"), at("dst/b"))},
			`jobs[1].source: "` + at("src") + `" contains jobs[0].source`},
		{"other source inside the archiving one", []Job{archive("a", at("src"), at("dst/a")), plain("b", at("src-link/sub"), at("dst/b"))},
			`jobs[1].source: "` + at("src-link/sub") + `" is inside jobs[0].source`},
		{"both archive", []Job{archive("a", at("src"), at("dst/a")), archive("b", at("src"), at("dst/b"))},
			`jobs[1].source: "` + at("src") + `" is the same directory as jobs[0].source`},
		{"shared without delete", []Job{plain("a", at("src"), at("dst/a")), plain("b", at("src"), at("dst/b"))}, ""},
		{"disjoint archive", []Job{archive("a", at("src"), at("dst/a")), plain("b", at("other"), at("dst/b"))}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := &Config{StateDir: at("state"), Jobs: c.jobs}
			cfg.SetDefaults(nil)
			err := cfg.Validate()
			if c.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) != 1 || !strings.HasPrefix(ve.Problems[0], c.want) ||
				!strings.Contains(ve.Problems[0], "after_archive: delete") {
				t.Fatalf("Validate: %v, want one problem starting %q naming after_archive: delete", err, c.want)
			}
		})
	}
}

// Variables that other programs set for themselves (the command line's
// EFSSYNC_CONFIG, the Slurm script's EFSSYNC_MIGRATION_CONFIG) are not
// overrides and must not fail the load; EFSSYNC_SHARD_COUNT stays one.
func TestReservedEnvIsIgnored(t *testing.T) {
	env := append([]string{"EFSSYNC_CONFIG=/etc/efssync/config.yaml", "EFSSYNC_MIGRATION_CONFIG=/etc/efssync/migration.yaml",
		"EFSSYNC_TEST_MINIO=1", "EFSSYNC_SHARD_COUNT=4"}, testEnv...)
	cfg := mustLoad(t, "c.yaml", badJob("", ""), env)
	if cfg.Shard.Count != 4 {
		t.Errorf("shard.count = %d, want 4 from EFSSYNC_SHARD_COUNT", cfg.Shard.Count)
	}
	p := problemsOf(t, "c.yaml", badJob("", ""), append([]string{"EFSSYNC_MIGRATION_CONFIGS=x"}, testEnv...))
	if len(p) != 1 || !strings.HasPrefix(p[0], "EFSSYNC_MIGRATION_CONFIGS: unknown key") {
		t.Errorf("a near miss of a reserved name: %q, want unknown key", p)
	}
}

// A reserved name must never shadow a key's variable.
func TestReservedEnvNamesNoKey(t *testing.T) {
	for _, name := range ReservedEnv {
		if _, _, ok := resolveEnv(reflect.TypeFor[Config](), strings.Split(strings.TrimPrefix(name, envPrefix), "_")); ok {
			t.Errorf("%s is reserved but names a key", name)
		}
	}
}

// BenchmarkValidate20000Jobs measures `config check` of a configuration of
// 20,000 jobs (410 s before overlaps were indexed).
func BenchmarkValidate20000Jobs(b *testing.B) {
	cfg := manyJobs(b.TempDir(), 20000)
	for b.Loop() {
		if err := cfg.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
