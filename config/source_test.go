package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const restoreYAML = `
jobs:
  - name: restore
    source:
      type: s3
      bucket: media-archive
      prefix: live/
      region: eu-west-1
      endpoint: https://minio.local:9000
      path_style: true
      part_size: 8MiB
      part_concurrency: 8
      as_of: "2024-05-06T07:08:09Z"
      glacier: {restore: true, tier: Standard}
    destinations:
      - {type: fs, path: /mnt/efs-a}
      - {type: fs, path: /mnt/efs-b}
`

func TestS3Source(t *testing.T) {
	c := mustLoad(t, "c.yaml", restoreYAML, testEnv)
	j := c.Jobs[0]
	want := Source{Type: "s3", S3Location: S3Location{Bucket: "media-archive", Prefix: "live/", Region: "eu-west-1",
		Endpoint: "https://minio.local:9000", PathStyle: true}, PartSize: 8 << 20, PartConcurrency: 8,
		AsOf: "2024-05-06T07:08:09Z", Glacier: Glacier{Restore: true, Days: DefaultGlacierDays, Tier: "Standard"}}
	if j.From != want || j.Source != "" || !j.From.IsS3() {
		t.Fatalf("source = %+v (Source %q), want %+v", j.From, j.Source, want)
	}
	if got := j.From.AsOfTime(); !got.Equal(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)) {
		t.Errorf("AsOfTime = %v", got)
	}
	if s := j.From.String(); s != "s3://media-archive/live/ endpoint=https://minio.local:9000" {
		t.Errorf("String = %q", s)
	}
	// Defaults of an s3 source without them.
	c = mustLoad(t, "d.yaml", "jobs: [{name: r, source: {type: s3, bucket: bkt}, destinations: [{type: fs, path: /d}]}]", testEnv)
	if f := c.Jobs[0].From; f.PartSize != DefaultPartSize || f.PartConcurrency != DefaultPartConcurrency || f.Glacier != (Glacier{}) {
		t.Errorf("defaults of an s3 source: %+v", f)
	}
}

func TestSourceAsPathOrTable(t *testing.T) {
	for _, src := range []string{"/srv/media", "{type: fs, path: /srv/media}"} {
		c := mustLoad(t, "c.yaml", "jobs: [{name: j, source: "+src+", destinations: [{type: fs, path: /d}]}]", testEnv)
		if j := c.Jobs[0]; j.Source != "/srv/media" || j.From != (Source{Type: "fs", Path: "/srv/media"}) {
			t.Errorf("source %s: Source %q From %+v", src, j.Source, j.From)
		}
	}
}

func TestS3SourceFromEnv(t *testing.T) {
	env := append([]string{"EFSSYNC_JOBS_0_SOURCE_TYPE=s3", "EFSSYNC_JOBS_0_SOURCE_BUCKET=bkt",
		"EFSSYNC_JOBS_0_SOURCE_GLACIER_RESTORE=true"}, testEnv...)
	c := mustLoad(t, "c.yaml", "jobs: [{name: j, source: /old, destinations: [{type: fs, path: /d}]}]", env)
	if f := c.Jobs[0].From; !f.IsS3() || f.Bucket != "bkt" || !f.Glacier.Restore || f.Glacier.Tier != "Bulk" || f.Path != "" {
		t.Errorf("source from env: %+v", f)
	}
	env = append([]string{"EFSSYNC_JOBS_0_SOURCE=/new"}, testEnv...)
	c = mustLoad(t, "c.yaml", "jobs: [{name: j, source: /old, destinations: [{type: fs, path: /d}]}]", env)
	if c.Jobs[0].Source != "/new" {
		t.Errorf("EFSSYNC_JOBS_0_SOURCE=/new gave %q", c.Jobs[0].Source)
	}
}

func TestS3SourcePrintedLoadsBack(t *testing.T) {
	for _, y := range []string{restoreYAML, "jobs: [{name: j, source: /s, destinations: [{type: fs, path: /d}]}]"} {
		c := mustLoad(t, "c.yaml", y, testEnv)
		out, err := c.YAML()
		if err != nil {
			t.Fatal(err)
		}
		if c.Jobs[0].Source == "/s" && !strings.Contains(string(out), "source: /s\n") {
			t.Errorf("a directory source is not printed as its path:\n%s", out)
		}
		p := filepath.Join(t.TempDir(), "back.yaml")
		if err := os.WriteFile(p, out, 0o600); err != nil {
			t.Fatal(err)
		}
		c2, err := Load(p, testEnv)
		if err != nil {
			t.Fatalf("printed config does not load: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Errorf("printed config reloads differently:\n%s", out)
		}
	}
}

func TestInvalidS3Sources(t *testing.T) {
	job := func(src, extra string) string {
		return "jobs:\n  - name: j\n    source: " + src + "\n    destinations: [{type: fs, path: /d}]\n" + extra
	}
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"s3 destination", "jobs: [{name: j, source: {type: s3, bucket: bkt}, destinations: [{type: fs, path: /d}, {type: s3, bucket: other}]}]",
			[]string{"jobs[0].destinations[1].type: an s3 source (a restore) can only be copied to fs destinations"}},
		{"no bucket", job("{type: s3}", ""), []string{"jobs[0].source.bucket: required"}},
		{"bad bucket", job("{type: s3, bucket: Bad_Bucket}", ""), []string{`jobs[0].source.bucket: "Bad_Bucket" is not a valid bucket name (3-63 lowercase letters, digits, '.' and '-')`}},
		{"bad type", job("{type: ftp, bucket: bkt}", ""), []string{`jobs[0].source.type: "ftp" is not one of fs, s3`}},
		{"bad as_of", job("{type: s3, bucket: bkt, as_of: yesterday}", ""), []string{`jobs[0].source.as_of: "yesterday" is not an RFC 3339 time such as 2024-05-06T07:08:09Z`}},
		{"bad tier", job("{type: s3, bucket: bkt, glacier: {restore: true, tier: Fast, days: -1}}", ""), []string{
			"jobs[0].source.glacier.days: must be between 1 and 30000, got -1",
			`jobs[0].source.glacier.tier: "Fast" is not one of Bulk, Standard, Expedited`}},
		{"tier without restore", job("{type: s3, bucket: bkt, glacier: {tier: Bulk}}", ""), []string{"jobs[0].source.glacier: days and tier only apply with restore: true"}},
		{"small part", job("{type: s3, bucket: bkt, part_size: 1000}", ""), []string{"jobs[0].source.part_size: must be between 1MiB and 1GiB, got 1kB"}},
		{"s3 keys on a path", job("{path: /s, bucket: bkt, as_of: x}", ""), []string{
			"jobs[0].source.bucket: only valid for s3 sources", "jobs[0].source.as_of: only valid for s3 sources"}},
		{"path on s3", job("{type: s3, bucket: bkt, path: /x}", ""), []string{"jobs[0].source.path: only valid for fs sources"}},
		{"watch", job("{type: s3, bucket: bkt}", "    mode: watch\n"), []string{"jobs[0].mode: watch needs a directory source; an s3 source runs in once mode"}},
		{"after_archive", job("{type: s3, bucket: bkt}", "    after_archive: delete\n    finished: {quiet: 1m}\n"), []string{
			"jobs[0].after_archive: delete would remove objects from the source bucket; not available for an s3 source",
			"jobs[0].finished.quiet: only valid for a directory source"}},
		{"credentials in endpoint", job("{type: s3, bucket: bkt, endpoint: 'http://u:hunter2@h'}", ""), []string{
			"jobs[0].source.endpoint: must not contain credentials (user:password@); S3 credentials come from the AWS credential chain (environment, profile, instance role)"}},
		{"unknown key", job("{type: s3, bukket: bkt}", ""), []string{`jobs[0].source.bukket: unknown key (did you mean "bucket"?)`, "jobs[0].source.bucket: required"}},
		{"list", job("[a]", ""), []string{"jobs[0].source: must be a table of keys, got a list"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := problemsOf(t, "c.yaml", c.yaml, testEnv)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
			}
			if strings.Contains(strings.Join(got, "\n"), "hunter2") {
				t.Errorf("a problem printed the endpoint password")
			}
		})
	}
}
