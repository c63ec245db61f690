package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testEnv is the environment every test loads with unless it says otherwise.
var testEnv = []string{"HOME=/home/op", "PATH=/usr/bin"}

// writeConfig writes content to a file called name in a fresh temp dir.
func writeConfig(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoad(t *testing.T, name, content string, env []string) *Config {
	t.Helper()
	c, err := Load(writeConfig(t, name, content), env)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

// problemsOf loads content and returns the validation problems.
func problemsOf(t *testing.T, name, content string, env []string) []string {
	t.Helper()
	_, err := Load(writeConfig(t, name, content), env)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Load: want *ValidationError, got %v", err)
	}
	if msg := ve.Error(); !strings.HasPrefix(msg, "config file "+ve.File+":") || !strings.HasSuffix(msg, strings.Join(ve.Problems, "\n")) {
		t.Errorf("Error() = %q, want the file, then the problems one per line", msg)
	}
	return ve.Problems
}

const fullYAML = `
state_dir: /var/lib/efssync
log_level: debug
metrics:
  listen: 127.0.0.1:9090
jobs:
  - name: live
    source: /srv/hls
    mode: watch
    include: ["**/*.ts", "**/*.m3u8"]
    exclude: ["**/*.tmp"]
    delete: mirror
    max_delete: 500
    concurrency: 64
    checkers: 4
    bandwidth: 100MB
    chunk_size: 256KiB
    verify: all
    checksum: true
    xattrs: true
    publish: progressive
    order: [hls]
    rescan: 5m
    quiet: 1s
    finished:
      quiet: 30s
    after_archive: keep
    destinations:
      - type: fs
        path: /mnt/efs-a
      - type: s3
        name: archive
        bucket: media-archive
        prefix: live/
        region: eu-west-1
        endpoint: https://minio.local:9000
        path_style: true
        storage_class: STANDARD_IA
        sse: aws:kms
        kms_key_id: alias/media
        tags:
          Team: video
          CostCenter: "42"
        part_size: 64MiB
        part_concurrency: 8
`

const fullTOML = `
state_dir = "/var/lib/efssync"
log_level = "debug"

[metrics]
listen = "127.0.0.1:9090"

[[jobs]]
name = "live"
source = "/srv/hls"
mode = "watch"
include = ["**/*.ts", "**/*.m3u8"]
exclude = ["**/*.tmp"]
delete = "mirror"
max_delete = "500"
concurrency = 64
checkers = 4
bandwidth = "100MB"
chunk_size = 262144
verify = "all"
checksum = true
xattrs = true
publish = "progressive"
order = ["hls"]
rescan = "5m"
quiet = 1
after_archive = "keep"

[jobs.finished]
quiet = "30s"

[[jobs.destinations]]
type = "fs"
path = "/mnt/efs-a"

[[jobs.destinations]]
type = "s3"
name = "archive"
bucket = "media-archive"
prefix = "live/"
region = "eu-west-1"
endpoint = "https://minio.local:9000"
path_style = true
storage_class = "STANDARD_IA"
sse = "aws:kms"
kms_key_id = "alias/media"
part_size = "64MiB"
part_concurrency = 8

[jobs.destinations.tags]
Team = "video"
CostCenter = 42
`

const fullJSON = `{
  "state_dir": "/var/lib/efssync",
  "log_level": "debug",
  "metrics": {"listen": "127.0.0.1:9090"},
  "jobs": [{
    "name": "live", "source": "/srv/hls", "mode": "watch",
    "include": ["**/*.ts", "**/*.m3u8"], "exclude": ["**/*.tmp"],
    "delete": "mirror", "max_delete": 500,
    "concurrency": 64, "checkers": 4, "bandwidth": "100MB", "chunk_size": "256KiB",
    "verify": "all", "checksum": true, "xattrs": true, "publish": "progressive",
    "order": ["hls"], "rescan": 300, "quiet": "1s",
    "finished": {"quiet": 30}, "after_archive": "keep",
    "destinations": [
      {"type": "fs", "path": "/mnt/efs-a"},
      {"type": "s3", "name": "archive", "bucket": "media-archive", "prefix": "live/",
       "region": "eu-west-1", "endpoint": "https://minio.local:9000", "path_style": true,
       "storage_class": "STANDARD_IA", "sse": "aws:kms", "kms_key_id": "alias/media",
       "tags": {"Team": "video", "CostCenter": 42},
       "part_size": 67108864, "part_concurrency": 8}
    ]
  }]
}`

func wantFull() *Config {
	return &Config{
		StateDir:  "/var/lib/efssync",
		Manifest:  "/var/lib/efssync/manifest.db",
		ReportDir: "/var/lib/efssync/reports",
		LogLevel:  "debug",
		Metrics:   Metrics{Listen: "127.0.0.1:9090"},
		Jobs: []Job{{
			Name:    "live",
			Source:  "/srv/hls",
			From:    Source{Type: "fs", Path: "/srv/hls"},
			Mode:    "watch",
			Include: []string{"**/*.ts", "**/*.m3u8"},
			Exclude: []string{"**/*.tmp"},
			Destinations: []Destination{
				{Type: "fs", Name: "/mnt/efs-a", Path: "/mnt/efs-a", PartSize: DefaultPartSize, PartConcurrency: DefaultPartConcurrency},
				{
					Type: "s3", Name: "archive", S3Location: S3Location{Bucket: "media-archive", Prefix: "live/",
						Region: "eu-west-1", Endpoint: "https://minio.local:9000", PathStyle: true},
					StorageClass: "STANDARD_IA", SSE: "aws:kms", KMSKeyID: "alias/media",
					Tags:     map[string]string{"Team": "video", "CostCenter": "42"},
					PartSize: 64 << 20, PartConcurrency: 8,
				},
			},
			Delete:       "mirror",
			MaxDelete:    "500",
			Concurrency:  64,
			Checkers:     4,
			Bandwidth:    100_000_000,
			ChunkSize:    256 << 10,
			Verify:       "all",
			Checksum:     true,
			Xattrs:       true,
			Publish:      "progressive",
			Order:        []string{"hls"},
			Rescan:       Duration(5 * time.Minute),
			Quiet:        Duration(time.Second),
			Finished:     Finished{Quiet: Duration(30 * time.Second)},
			AfterArchive: "keep",
			Adopt:        DefaultAdopt,
		}},
	}
}

func TestFormatsAreEquivalent(t *testing.T) {
	for _, f := range []struct{ name, content string }{
		{"c.yaml", fullYAML}, {"c.yml", fullYAML}, {"c.YAML", fullYAML},
		{"c.toml", fullTOML}, {"c.json", fullJSON},
	} {
		t.Run(f.name, func(t *testing.T) {
			got := mustLoad(t, f.name, f.content, testEnv)
			want := wantFull()
			want.Manifest = derivedManifest(t, got, want.StateDir)
			want.ProgressInterval = DefaultProgressInterval
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestPrintedConfigLoadsBack(t *testing.T) {
	c := mustLoad(t, "c.yaml", fullYAML, testEnv)
	out, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	back := mustLoad(t, "back.yaml", string(out), nil)
	if !reflect.DeepEqual(back, c) {
		t.Errorf("reloaded printed config differs:\n%s\ngot  %+v\nwant %+v", out, back, c)
	}
}

// derivedManifest checks that c's manifest was derived from its file under
// stateDir (the file's temp path differs per test) and returns it.
func derivedManifest(t *testing.T, c *Config, stateDir string) string {
	t.Helper()
	if dir, base := filepath.Split(c.Manifest); dir != stateDir+"/manifests/" || !strings.HasPrefix(base, "c-") {
		t.Errorf("manifest %s: want %s/manifests/c-<hash>.db", c.Manifest, stateDir)
	}
	return c.Manifest
}

const minimalYAML = `
jobs:
  - name: j
    source: /src
    destinations:
      - type: fs
        path: /dst
      - type: s3
        bucket: bkt
        prefix: a/b
`

func TestDefaults(t *testing.T) {
	c := mustLoad(t, "c.yaml", minimalYAML, testEnv)
	want := &Config{
		StateDir:         "/home/op/.local/state/efssync",
		Manifest:         derivedManifest(t, c, "/home/op/.local/state/efssync"),
		ProgressInterval: DefaultProgressInterval,
		ReportDir:        "/home/op/.local/state/efssync/reports",
		LogLevel:         "info",
		Jobs: []Job{{
			Name: "j", Source: "/src", From: Source{Type: "fs", Path: "/src"},
			Destinations: []Destination{
				{Type: "fs", Name: "/dst", Path: "/dst", PartSize: 16 << 20, PartConcurrency: 4},
				{Type: "s3", Name: "s3://bkt/a/b", S3Location: S3Location{Bucket: "bkt", Prefix: "a/b"}, PartSize: 16 << 20, PartConcurrency: 4},
			},
			Mode: "once", Delete: "never", MaxDelete: "10%",
			Concurrency: 64, Checkers: 8, ChunkSize: 1 << 20,
			Verify: "transferred", Publish: "atomic",
			Rescan: Duration(10 * time.Minute), Quiet: Duration(2 * time.Second),
			AfterArchive: "keep", Adopt: DefaultAdopt,
		}},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
}

func TestStateDirDefault(t *testing.T) {
	cases := []struct {
		name string
		env  []string
		want string
	}{
		{"systemd", []string{"STATE_DIRECTORY=/var/lib/efssync:/var/lib/other", "XDG_STATE_HOME=/x", "HOME=/h"}, "/var/lib/efssync"},
		{"systemd empty first", []string{"STATE_DIRECTORY=:/var/lib/b"}, "/var/lib/b"},
		{"xdg", []string{"XDG_STATE_HOME=/x/state", "HOME=/h"}, "/x/state/efssync"},
		{"relative xdg ignored", []string{"XDG_STATE_HOME=rel", "HOME=/h"}, "/h/.local/state/efssync"},
		{"home", []string{"HOME=/h"}, "/h/.local/state/efssync"},
		{"first occurrence wins", []string{"HOME=/first", "HOME=/second"}, "/first/.local/state/efssync"},
		{"override", []string{"HOME=/h", "EFSSYNC_STATE_DIR=/opt/state"}, "/opt/state"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := mustLoad(t, "c.yaml", minimalYAML, c.env)
			if cfg.StateDir != c.want || filepath.Dir(cfg.Manifest) != filepath.Join(c.want, "manifests") || cfg.ReportDir != filepath.Join(c.want, "reports") {
				t.Errorf("state_dir=%q manifest=%q report_dir=%q, want under %q", cfg.StateDir, cfg.Manifest, cfg.ReportDir, c.want)
			}
		})
	}
	p := problemsOf(t, "c.yaml", minimalYAML, nil)
	if len(p) != 1 || !strings.HasPrefix(p[0], "state_dir: not set") {
		t.Errorf("no environment: problems %q", p)
	}
}

func TestHyphenAliases(t *testing.T) {
	c := mustLoad(t, "c.yaml", `
state-dir: /st
report-dir: /st/r
Log-Level: warn
jobs:
  - name: j
    source: /src
    max-delete: 5%
    after-archive: keep
    chunk-size: 64KiB
    destinations:
      - type: s3
        bucket: bkt
        part-size: 32MiB
        part-concurrency: 2
        storage-class: GLACIER
        sse: aws:kms
        kms-key-id: k
        path-style: true
`, nil)
	j := c.Jobs[0]
	d := j.Destinations[0]
	if c.StateDir != "/st" || c.ReportDir != "/st/r" || c.LogLevel != "warn" || j.MaxDelete != "5%" ||
		j.AfterArchive != "keep" || j.ChunkSize != 64<<10 || d.PartSize != 32<<20 || d.PartConcurrency != 2 ||
		d.StorageClass != "GLACIER" || d.KMSKeyID != "k" || !d.PathStyle {
		t.Errorf("hyphenated keys not applied: %+v", c)
	}
	p := problemsOf(t, "c.yaml", "state-dir: /a\nstate_dir: /b\n"+minimalYAML, nil)
	if len(p) != 1 || p[0] != `state_dir: set twice (as "state-dir" and "state_dir")` {
		t.Errorf("doubled key: %q", p)
	}
}

func TestEnvOverrides(t *testing.T) {
	env := append([]string{
		"EFSSYNC_LOG_LEVEL=error",
		"EFSSYNC_METRICS_LISTEN=:9100",
		"EFSSYNC_JOBS_0_CONCURRENCY=7",
		"EFSSYNC_JOBS_0_CHUNK_SIZE=2MiB",
		"EFSSYNC_JOBS_0_RESCAN=90",
		"EFSSYNC_JOBS_0_FINISHED_QUIET=1m",
		"EFSSYNC_JOBS_0_AFTER_ARCHIVE=delete",
		"EFSSYNC_JOBS_0_CHECKSUM=true",
		"EFSSYNC_JOBS_0_EXCLUDE=[\"*.tmp\",\"{a,b}/**\"]",
		"EFSSYNC_JOBS_0_INCLUDE_0=**/*.ts",
		"EFSSYNC_JOBS_0_DESTINATIONS_0_PATH=/other",
		"EFSSYNC_JOBS_0_DESTINATIONS_1_PATH_STYLE=true",
		"EFSSYNC_JOBS_0_DESTINATIONS_1_PART_SIZE=8MiB",
		"EFSSYNC_JOBS_0_DESTINATIONS_1_KMS_KEY_ID=alias/x",
		"EFSSYNC_JOBS_0_DESTINATIONS_1_SSE=aws:kms",
		"EFSSYNC_JOBS_0_DESTINATIONS_1_TAGS_CostCenter=42",
		"EFSSYNC_JOBS_0_DESTINATIONS_2_TYPE=fs",
		"EFSSYNC_JOBS_0_DESTINATIONS_2_PATH=/third",
		"EFSSYNC_JOBS_1_NAME=second",
		"EFSSYNC_JOBS_1_SOURCE=/src2",
		"EFSSYNC_JOBS_1_DESTINATIONS_0_TYPE=fs",
		"EFSSYNC_JOBS_1_DESTINATIONS_0_PATH=/dst2",
		"EFSSYNC_CONFIG=/etc/efssync/config.yaml",
		"EFSSYNC_JOBS_0_CHECKERS=3",
		"EFSSYNC_JOBS_0_CHECKERS=999999", // later duplicate: ignored, as by os.Getenv
	}, testEnv...)
	c := mustLoad(t, "c.yaml", minimalYAML, env)
	j := c.Jobs[0]
	d := j.Destinations
	switch {
	case c.LogLevel != "error", c.Metrics.Listen != ":9100":
		t.Errorf("top level: %+v", c)
	case j.Concurrency != 7, j.ChunkSize != 2<<20, j.Rescan.D() != 90*time.Second, j.Finished.Quiet.D() != time.Minute,
		j.AfterArchive != "delete", !j.Checksum, j.Checkers != 3:
		t.Errorf("job scalars: %+v", j)
	case !reflect.DeepEqual(j.Exclude, []string{"*.tmp", "{a,b}/**"}), !reflect.DeepEqual(j.Include, []string{"**/*.ts"}):
		t.Errorf("job lists: include %q exclude %q", j.Include, j.Exclude)
	case len(d) != 3, d[0].Path != "/other", d[0].Name != "/other", !d[1].PathStyle, d[1].PartSize != 8<<20,
		d[1].KMSKeyID != "alias/x", d[1].Tags["CostCenter"] != "42", d[2].Path != "/third":
		t.Errorf("destinations: %+v", d)
	case len(c.Jobs) != 2, c.Jobs[1].Name != "second", c.Jobs[1].Destinations[0].Path != "/dst2":
		t.Errorf("appended job: %+v", c.Jobs)
	}
}

func TestEnvErrors(t *testing.T) {
	cases := []struct{ env, want string }{
		{"EFSSYNC_JOBS_0_EXLUDE=x", "EFSSYNC_JOBS_0_EXLUDE: unknown key"},
		{"EFSSYNC_NOPE=1", "EFSSYNC_NOPE: unknown key"},
		{"EFSSYNC_=1", "EFSSYNC_: unknown key"},
		{"EFSSYNC_JOBS_X_NAME=1", "EFSSYNC_JOBS_X_NAME: unknown key"},
		{"EFSSYNC_JOBS_01_NAME=1", "EFSSYNC_JOBS_01_NAME: unknown key"},
		{"EFSSYNC_JOBS_0_CONCURRENCY=lots", `jobs[0].concurrency: "lots" is not a whole number (from EFSSYNC_JOBS_0_CONCURRENCY)`},
		{"EFSSYNC_JOBS_0_CHUNK_SIZE=big", `jobs[0].chunk_size: invalid size "big"`},
		{"EFSSYNC_JOBS_0_EXCLUDE=*.tmp", "EFSSYNC_JOBS_0_EXCLUDE: a list must be given as a JSON array"},
		{"EFSSYNC_JOBS_5_NAME=x", "EFSSYNC_JOBS_5_NAME: index 5 is past the end of the list (length 1)"},
		{"EFSSYNC_METRICS=x", "EFSSYNC_METRICS: names the section metrics"},
		{"EFSSYNC_JOBS_0_DESTINATIONS=x", "EFSSYNC_JOBS_0_DESTINATIONS: names the list jobs[0].destinations"},
		{"EFSSYNC_JOBS_0_DESTINATIONS_0_TAGS=x", "EFSSYNC_JOBS_0_DESTINATIONS_0_TAGS: names the table"},
		{"EFSSYNC_LOG_LEVEL_X=1", "EFSSYNC_LOG_LEVEL_X: unknown key"},
	}
	for _, c := range cases {
		t.Run(c.env, func(t *testing.T) {
			p := problemsOf(t, "c.yaml", minimalYAML, append([]string{c.env}, testEnv...))
			if len(p) != 1 || !strings.HasPrefix(p[0], c.want) {
				t.Errorf("problems %q, want one starting %q", p, c.want)
			}
		})
	}
}

func TestFileErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(filepath.Join(dir, "missing.yaml"), nil)
	if err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), filepath.Join(dir, "missing.yaml")) {
		t.Errorf("missing file: %v", err)
	}
	_, err = Load(dir+"/x.ini", nil)
	if err == nil || !strings.Contains(err.Error(), "x.ini") || !strings.Contains(err.Error(), "unsupported extension") {
		t.Errorf("bad extension: %v", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "d.yaml"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err = Load(filepath.Join(dir, "d.yaml"), nil); err == nil || !strings.Contains(err.Error(), "d.yaml") {
		t.Errorf("directory: %v", err)
	}

	syntax := []struct{ name, content, want string }{
		{"s.yaml", "jobs:\n  - name: a\n\tsource: b\n", "line 3: found a tab character"},
		{"s.yaml", "jobs:\n  - name: j\n    source: /src\n    destinations: [{type: fs, path: /dst}]\n  - name: k\n   source: /x\n",
			"line 6: did not find expected '-' indicator (in the block that starts on line 1)"},
		{"s.yaml", "a:\n  b: 1\n c: 2\n", "line 3: did not find expected key"},
		{"s.yaml", "a: b\nc: d: e\n", "line 2"},
		{"s.yaml", "- a\n- b\n", "cannot unmarshal"},
		{"s.toml", "log_level = \"x\"\njobs = [\n", "line 2"},
		{"s.toml", "a = 1\n\nb = \n", "line 3"},
		{"s.json", "{\n  \"a\": 1,\n  \"b\" 2\n}", "line 3"},
		{"s.json", "[1]", "must be an object"},
		{"s.json", "{} {}", "unexpected data"},
	}
	for _, s := range syntax {
		p := writeConfig(t, s.name, s.content)
		_, err := Load(p, nil)
		var ve *ValidationError
		if err == nil || errors.As(err, &ve) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), s.want) {
			t.Errorf("%s %q: got %v, want error naming the file and %q", s.name, s.content, err, s.want)
		}
	}
}

// badJob builds a one-job config whose job has the extra YAML lines jobExtra
// and whose only destination is a valid fs one plus destExtra.
func badJob(jobExtra, destExtra string) string {
	return "jobs:\n  - name: j\n    source: /src\n" + indent(jobExtra, "    ") +
		"    destinations:\n      - type: fs\n        path: /dst\n" + indent(destExtra, "        ")
}

// badS3 is badJob with an s3 destination.
func badS3(destExtra string) string {
	return "jobs:\n  - name: j\n    source: /src\n    destinations:\n      - type: s3\n        bucket: bkt\n" + indent(destExtra, "        ")
}

func indent(s, pre string) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString(pre + l + "\n")
	}
	return b.String()
}

func TestInvalidConfigs(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"no jobs", "log_level: info\n", []string{"jobs: at least one job is required"}},
		{"unknown top key", "verbosity: x\n" + badJob("", ""), []string{`verbosity: unknown key`}},
		{"misspelt exclude", badJob("exlude: ['*.tmp']", ""), []string{`jobs[0].exlude: unknown key (did you mean "exclude"?)`}},
		{"unknown dest key", badJob("", "bukket: x"), []string{`jobs[0].destinations[0].bukket: unknown key (did you mean "bucket"?)`}},
		{"unknown finished key", badJob("finished: {quite: 1s}", ""), []string{`jobs[0].finished.quite: unknown key (did you mean "quiet"?)`}},
		{"jobs not a list", "jobs: {name: x}\n", []string{"jobs: must be a list, got a table"}},
		{"metrics not a table", "metrics: 9090\n" + badJob("", ""), []string{"metrics: must be a table of keys, got a whole number"}},
		{"tags not a table", badS3("tags: [a]"), []string{"jobs[0].destinations[0].tags: must be a table of key: value pairs, got a list"}},
		{"wrong type", badJob("concurrency: [1]", ""), []string{"jobs[0].concurrency: must be a whole number, got a list"}},
		{"fractional count", badJob("checkers: 1.5", ""), []string{"jobs[0].checkers: 1.5 is not a whole number"}},
		{"bad bool", badJob("checksum: maybe", ""), []string{`jobs[0].checksum: "maybe" is not true or false`}},
		{"bad size", badJob("chunk_size: 1.5MiB", ""), []string{`jobs[0].chunk_size: invalid size "1.5MiB": fractions are not supported, use a smaller unit (1536MiB, not 1.5GiB)`}},
		{"negative size", badJob("bandwidth: -1", ""), []string{`jobs[0].bandwidth: invalid size "-1": must not be negative`}},
		{"bad duration", badJob("quiet: soon", ""), []string{`jobs[0].quiet: invalid duration "soon": want e.g. 2s, 10m, 1h30m or a number of seconds`}},
		{"missing name", "jobs:\n  - source: /src\n    destinations: [{type: fs, path: /dst}]\n", []string{"jobs[0].name: required"}},
		{"unsafe name", badJob("", "")[:0] + strings.Replace(badJob("", ""), "name: j", "name: a/b", 1), []string{`jobs[0].name: "a/b" may contain only letters, digits, '.', '_' and '-'`}},
		{"dotdot name", strings.Replace(badJob("", ""), "name: j", "name: ..", 1), []string{`jobs[0].name: ".." may contain only letters, digits, '.', '_' and '-'`}},
		{"duplicate job name", badJob("", "") + "  - name: j\n    source: /s2\n    destinations: [{type: fs, path: /d2}]\n", []string{`jobs[1].name: "j" is already the name of jobs[0]; job names must be unique`}},
		{"missing source", strings.Replace(badJob("", ""), "source: /src", "mode: once", 1), []string{"jobs[0].source: required"}},
		{"relative source", strings.Replace(badJob("", ""), "source: /src", "source: src", 1), []string{`jobs[0].source: must be an absolute path, got "src"`}},
		{"no destinations", "jobs:\n  - name: j\n    source: /src\n", []string{"jobs[0].destinations: at least one destination is required"}},
		{"missing type", "jobs:\n  - name: j\n    source: /src\n    destinations: [{path: /dst}]\n", []string{"jobs[0].destinations[0].type: required (fs or s3)"}},
		{"bad type", "jobs:\n  - name: j\n    source: /src\n    destinations: [{type: nfs, path: /dst}]\n", []string{`jobs[0].destinations[0].type: "nfs" is not one of fs, s3`, "jobs[0].destinations[0].path: only valid for fs destinations"}},
		{"relative dest", strings.Replace(badJob("", ""), "path: /dst", "path: dst", 1), []string{`jobs[0].destinations[0].path: must be an absolute path, got "dst"`}},
		{"dest is source", strings.Replace(badJob("", ""), "path: /dst", "path: /src/", 1), []string{`jobs[0].destinations[0].path: "/src/" is the same directory as jobs[0].source "/src"`}},
		{"dest inside source", strings.Replace(badJob("", ""), "path: /dst", "path: /src/backup", 1), []string{`jobs[0].destinations[0].path: "/src/backup" is inside jobs[0].source "/src"`}},
		{"source inside dest", strings.Replace(badJob("", ""), "path: /dst", "path: /", 1), []string{`jobs[0].destinations[0].path: "/" contains jobs[0].source "/src"`, `state_dir: "/home/op/.local/state/efssync" is inside jobs[0].destinations[0].path "/"`}},
		{"sibling prefix is fine", strings.Replace(badJob("", ""), "path: /dst", "path: /src2", 1), nil},
		{"s3 field on fs", badJob("", "bucket: b\nsse: AES256"), []string{"jobs[0].destinations[0].bucket: only valid for s3 destinations", "jobs[0].destinations[0].sse: only valid for s3 destinations"}},
		{"s3 with path", badS3("path: /x"), []string{"jobs[0].destinations[0].path: only valid for fs destinations"}},
		{"s3 missing bucket", "jobs:\n  - name: j\n    source: /src\n    destinations: [{type: s3}]\n", []string{"jobs[0].destinations[0].bucket: required"}},
		{"s3 bad bucket", strings.Replace(badS3(""), "bucket: bkt", "bucket: s3://bkt", 1), []string{`jobs[0].destinations[0].bucket: "s3://bkt" is not a valid bucket name (3-63 lowercase letters, digits, '.' and '-')`}},
		{"s3 absolute prefix", badS3("prefix: /live"), []string{`jobs[0].destinations[0].prefix: "/live" must not start with '/'`}},
		{"part too small", badS3("part_size: 4MiB"), []string{"jobs[0].destinations[0].part_size: must be between 5MiB and 5GiB, got 4MiB"}},
		{"part too big", badS3("part_size: 6GiB"), []string{"jobs[0].destinations[0].part_size: must be between 5MiB and 5GiB, got 6GiB"}},
		{"part concurrency", badS3("part_concurrency: 2000"), []string{"jobs[0].destinations[0].part_concurrency: must be between 1 and 1024, got 2000"}},
		{"bad sse", badS3("sse: kms"), []string{`jobs[0].destinations[0].sse: "kms" is not one of , AES256, aws:kms`}},
		{"kms without kms", badS3("sse: AES256\nkms_key_id: k"), []string{"jobs[0].destinations[0].kms_key_id: only valid with sse: aws:kms"}},
		{"storage class", badS3("storage_class: cold storage"), []string{`jobs[0].destinations[0].storage_class: "cold storage" is not a storage class name such as STANDARD or STANDARD_IA`}},
		{"endpoint scheme", badS3("endpoint: minio:9000"), []string{`jobs[0].destinations[0].endpoint: must be an http:// or https:// URL with a host, got "minio:9000"`}},
		{"endpoint credentials", badS3("endpoint: http://user:hunter2@minio:9000"), []string{"jobs[0].destinations[0].endpoint: must not contain credentials (user:password@); S3 credentials come from the AWS credential chain (environment, profile, instance role)"}},
		{"endpoint unparsable with credentials", badS3("endpoint: 'http://u:hunter2@[::1'"), []string{"jobs[0].destinations[0].endpoint: must be an http:// or https:// URL with a host, and must not contain credentials"}},
		{"too many tags", badS3("tags: {a: 1, b: 1, c: 1, d: 1, e: 1, f: 1, g: 1, h: 1, i: 1, j: 1, k: 1}"), []string{"jobs[0].destinations[0].tags: at most 7 tags: S3 allows 10 and efssync keeps 3 for the BLAKE3, mtime and mode of large objects; got 11"}},
		{"duplicate dest names", badJob("", "") + "      - type: fs\n        path: /d2\n        name: /dst\n", []string{`jobs[0].destinations[1].name: "/dst" is already the name of destinations[0]; destination names must be unique within a job`}},
		{"mode", badJob("mode: live", ""), []string{`jobs[0].mode: "live" is not one of once, watch`}},
		{"delete", badJob("delete: always", ""), []string{`jobs[0].delete: "always" is not one of never, mirror`}},
		{"max_delete percent", badJob("max_delete: 150%", ""), []string{`jobs[0].max_delete: "150%" must be a positive count (1000) or a percentage (10%) greater than 0 and at most 100`}},
		{"max_delete word", badJob("max_delete: all", ""), []string{`jobs[0].max_delete: "all" must be a positive count (1000) or a percentage (10%) greater than 0 and at most 100`}},
		{"verify", badJob("verify: some", ""), []string{`jobs[0].verify: "some" is not one of none, transferred, all`}},
		{"publish", badJob("publish: eager", ""), []string{`jobs[0].publish: "eager" is not one of atomic, progressive`}},
		{"order", badJob("order: [hls, '[a-']", ""), []string{`jobs[0].order[1]: "[a-" is not a known ordering rule (known: "hls", "dash")`}},
		{"concurrency low", badJob("concurrency: -1", ""), []string{"jobs[0].concurrency: must be between 1 and 1024, got -1"}},
		{"concurrency high", badJob("concurrency: 1025", ""), []string{"jobs[0].concurrency: must be between 1 and 1024, got 1025"}},
		{"checkers", badJob("checkers: 5000", ""), []string{"jobs[0].checkers: must be between 1 and 1024, got 5000"}},
		{"chunk small", badJob("chunk_size: 1KiB", ""), []string{"jobs[0].chunk_size: must be between 4KiB and 64MiB, got 1KiB"}},
		{"chunk big", badJob("chunk_size: 128MiB", ""), []string{"jobs[0].chunk_size: must be between 4KiB and 64MiB, got 128MiB"}},
		{"bad include", badJob("include: ['{a,b']", ""), []string{`jobs[0].include[0]: "{a,b" is not a valid glob`}},
		{"absolute exclude", badJob("exclude: [ok, /abs/**]", ""), []string{`jobs[0].exclude[1]: "/abs/**" must be relative to the source (no leading '/')`}},
		{"empty exclude", badJob("exclude: ['']", ""), []string{"jobs[0].exclude[0]: empty pattern"}},
		{"negative quiet", badJob("quiet: -1s", ""), []string{"jobs[0].quiet: must be positive, got -1s"}},
		{"after_archive", badJob("after_archive: move", ""), []string{`jobs[0].after_archive: "move" is not one of keep, delete`}},
		{"archive delete needs quiet", badJob("after_archive: delete", ""), []string{"jobs[0].after_archive: delete requires finished.quiet > 0, so that only files that stopped changing are removed"}},
		{"log level", "log_level: verbose\n" + badJob("", ""), []string{`log_level: "verbose" is not one of debug, info, warn, error`}},
		{"metrics listen", "metrics: {listen: localhost}\n" + badJob("", ""), []string{`metrics.listen: must be host:port (e.g. :9090 or 127.0.0.1:9090), got "localhost"`}},
		{"metrics port", "metrics: {listen: ':http'}\n" + badJob("", ""), []string{`metrics.listen: port must be a number from 0 to 65535, got "http"`}},
		{"relative state dir", "state_dir: state\n" + badJob("", ""), []string{`state_dir: must be an absolute path, got "state"`, `manifest: must be an absolute path, got "state/manifest.db"`, `report_dir: must be an absolute path, got "state/reports"`}},
		{"every problem at once", `
jobs:
  - name: ""
    source: rel
    exlude: [x]
    concurrency: 0.5
    destinations:
      - type: fs
        path: rel
  - name: b
    source: /b
    mode: sometimes
    destinations: []
`, []string{
			`jobs[0].exlude: unknown key (did you mean "exclude"?)`,
			"jobs[0].concurrency: 0.5 is not a whole number",
			"jobs[0].name: required",
			`jobs[0].source: must be an absolute path, got "rel"`,
			`jobs[0].destinations[0].path: must be an absolute path, got "rel"`,
			"jobs[1].destinations: at least one destination is required",
			`jobs[1].mode: "sometimes" is not one of once, watch`,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeConfig(t, "c.yaml", c.yaml)
			_, err := Load(path, testEnv)
			var got []string
			var ve *ValidationError
			if errors.As(err, &ve) {
				got = ve.Problems
			} else if err != nil {
				t.Fatalf("want *ValidationError, got %v", err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
			}
			if strings.Contains(strings.Join(got, "\n"), "hunter2") {
				t.Errorf("a problem printed the endpoint password")
			}
		})
	}
}

func TestValidateBuiltInCode(t *testing.T) {
	c := &Config{Jobs: []Job{{Name: "j", Source: "/s", Destinations: []Destination{{Type: "fs", Path: "/d"}}}}}
	c.SetDefaults([]string{"HOME=/h"})
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	c.Jobs[0].Concurrency = 0
	var ve *ValidationError
	if err := c.Validate(); !errors.As(err, &ve) || len(ve.Problems) != 1 {
		t.Errorf("Validate after breaking concurrency: %v", err)
	}
	md, err := c.Jobs[0].MaxDeleteRule()
	if err != nil || md.Limit(1000) != 100 {
		t.Errorf("MaxDeleteRule: %v %v", md, err)
	}
}

func TestRedaction(t *testing.T) {
	d := Destination{Type: "s3", S3Location: S3Location{Bucket: "b", Prefix: "p", Endpoint: "http://user:hunter2@minio:9000", Region: "r"}, Tags: map[string]string{"a": "1"}}
	if s := d.String(); strings.Contains(s, "hunter2") || strings.Contains(s, "user") || s != "s3://b/p endpoint=http://minio:9000 region=r" {
		t.Errorf("String() = %q", s)
	}
	r := d.Redacted()
	if r.Endpoint != "http://minio:9000" {
		t.Errorf("Redacted endpoint = %q", r.Endpoint)
	}
	r.Tags["a"] = "2"
	if d.Tags["a"] != "1" {
		t.Errorf("Redacted shares the tags map")
	}
	bad := Destination{Type: "s3", S3Location: S3Location{Bucket: "b", Endpoint: "http://u:hunter2@[::1"}}
	if s := bad.String(); strings.Contains(s, "hunter2") {
		t.Errorf("String() of unparsable endpoint = %q", s)
	}
	fsd := Destination{Type: "fs", Path: "/mnt/a", Name: "efs-a"}
	if s := fsd.String(); s != "fs:/mnt/a (efs-a)" {
		t.Errorf("fs String() = %q", s)
	}
	c := &Config{Jobs: []Job{{Destinations: []Destination{d}}}}
	out, err := c.YAML()
	if err != nil || strings.Contains(string(out), "hunter2") {
		t.Errorf("YAML() = %s, %v", out, err)
	}
	if c.Jobs[0].Destinations[0].Endpoint != d.Endpoint {
		t.Errorf("YAML() modified the config")
	}
}

func TestTagKeysKeepTheirCase(t *testing.T) {
	c := mustLoad(t, "c.yaml", badS3("tags: {Team: v, team: w, MIXED-Case_Key: x}"), testEnv)
	want := map[string]string{"Team": "v", "team": "w", "MIXED-Case_Key": "x"}
	if got := c.Jobs[0].Destinations[0].Tags; !reflect.DeepEqual(got, want) {
		t.Errorf("tags = %v, want %v", got, want)
	}
}

func TestScalarWhereListExpected(t *testing.T) {
	c := mustLoad(t, "c.yaml", badJob("exclude: '*.tmp'", ""), testEnv)
	if !reflect.DeepEqual(c.Jobs[0].Exclude, []string{"*.tmp"}) {
		t.Errorf("exclude = %q", c.Jobs[0].Exclude)
	}
}

// A problem found after decoding (a wrong type, an unknown key, a bad
// value) names the file as well as the key, like a syntax error does: an
// operator with several configuration files must know which to edit.
func TestValidationErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"type.yaml":    "jobs:\n  - name: j\n    source: /src\n    concurrency: lots\n    destinations: [{type: fs, path: /dst}]\n",
		"unknown.yaml": "jobs:\n  - name: j\n    source: /src\n    exlude: ['*.tmp']\n    destinations: [{type: fs, path: /dst}]\n",
		"two.yaml":     "jobs:\n  - name: j\n    source: relative\n    chunk_size: -1\n    destinations: [{type: fs, path: /dst}]\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(p, nil)
		var ve *ValidationError
		if !errors.As(err, &ve) || !strings.HasPrefix(err.Error(), "config file "+p+":") || !strings.Contains(err.Error(), "jobs[0].") {
			t.Errorf("%s: %v, want a *ValidationError starting with the file and naming the key", name, err)
		}
	}
}

// Every wrong type is reported in one run, beside unknown keys and the
// validation problems, not one per run.
func TestTypeErrorsReportedTogether(t *testing.T) {
	p := problemsOf(t, "c.yaml", "log_level: verbose\nreports: {keep: many}\n"+badJob("concurrency: abc\nchecksum: maybe\nexlude: x\nchecks: [1]\nmode: live", "part_size: [1]"), testEnv)
	want := []string{
		`jobs[0].checks: unknown key (did you mean "checkers"?)`,
		`jobs[0].exlude: unknown key (did you mean "exclude"?)`,
		`reports.keep: "many" is not a whole number`,
		`jobs[0].destinations[0].part_size: must be a size such as 8MiB, got a list`,
		`jobs[0].concurrency: "abc" is not a whole number`,
		`jobs[0].checksum: "maybe" is not true or false`,
		`log_level: "verbose" is not one of debug, info, warn, error`,
		`jobs[0].mode: "live" is not one of once, watch`,
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(p, "\n  "), strings.Join(want, "\n  "))
	}
}
