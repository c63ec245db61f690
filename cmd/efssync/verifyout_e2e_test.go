package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/efssync/efssync/internal/miniotest"
)

// Issue 21 item 8: verify ends with a summary line, in sync or not, and
// counts an authorization failure as an error, not a difference. Against
// a real MinIO: a copy altered on the mounted destination differs; the
// bucket, read with a wrong secret, gives errors.
func TestVerifySummaryLine(t *testing.T) {
	t.Parallel()
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "bkt")
	dir := t.TempDir()
	dirs := mkdirs(t, dir, "src", "dst")
	src, dst := dirs[0], dirs[1]
	writeTestFile(t, filepath.Join(src, "a.mp4"), "first")
	writeTestFile(t, filepath.Join(src, "b.mp4"), "second")
	cfg := filepath.Join(dir, "c.yaml")
	writeTestFile(t, cfg, "state_dir: "+quote(filepath.Join(dir, "state"))+"\njobs:\n  - name: j\n    source: "+quote(src)+
		"\n    destinations:\n      - {type: fs, path: "+quote(dst)+"}\n      - {type: s3, name: bucket, bucket: bkt, region: us-east-1, path_style: true, endpoint: "+quote(srv.Endpoint)+"}\n")
	creds := []string{"AWS_ACCESS_KEY_ID=" + srv.AccessKey, "AWS_SECRET_ACCESS_KEY=" + srv.SecretKey}
	mustCode(t, efssync(t, creds, "run", "--config", cfg), 0)

	r := efssync(t, creds, "verify", "--config", cfg)
	mustCode(t, r, 0)
	if last := lastLine(r.stdout); last != "2 files checked, all in sync" {
		t.Errorf("verify in sync ends %q:\n%s", last, r.stdout)
	}

	writeTestFile(t, filepath.Join(dst, "a.mp4"), "FIRST")
	r = efssync(t, creds, "verify", "--config", cfg)
	mustCode(t, r, ExitFailed)
	if last := lastLine(r.stdout); last != "2 files checked: 1 differ, 0 errors" {
		t.Errorf("verify of an altered copy ends %q:\n%s", last, r.stdout)
	}

	wrong := []string{"AWS_ACCESS_KEY_ID=" + srv.AccessKey, "AWS_SECRET_ACCESS_KEY=wrong-secret"}
	r = efssync(t, wrong, "verify", "--config", cfg)
	mustCode(t, r, ExitFailed)
	last := lastLine(r.stdout)
	if last != "2 files checked: 1 differ, 2 errors" || strings.Count(r.stdout, "403") != 2 {
		t.Errorf("verify with a wrong secret: want the altered copy as the one difference and the bucket's reads as errors, got %q:\n%s\nstderr:\n%s", last, r.stdout, r.stderr)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}
