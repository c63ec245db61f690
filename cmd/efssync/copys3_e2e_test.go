package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/efssync/efssync/internal/miniotest"
	"github.com/efssync/efssync/internal/treetest"
)

// `efssync copy /src s3://bucket/prefix` then `efssync copy
// s3://bucket/prefix /restore` round-trips a tree against real MinIO: its
// regular files with their contents, modes and mtimes, and the directories
// that hold them. The endpoint comes from AWS_ENDPOINT_URL_S3 once and from
// --s3-endpoint once. Not yet covered, because the S3 transfer does not
// store them yet: empty directories and symlinks (issue 21, item 1).
func TestCopyS3RoundTrip(t *testing.T) {
	t.Parallel()
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "roundtrip")
	base := t.TempDir()
	dirs := mkdirs(t, base, "src", "restore")
	src, restore := dirs[0], dirs[1]
	treetest.Write(t, src, map[string]string{"a.txt": "alpha", "d/b.bin": strings.Repeat("b", 3<<20), "d/e/c": ""})
	if err := os.Chmod(filepath.Join(src, "a.txt"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Symlinks round-trip as symlinks (stored as symlink objects), a
	// dangling one included; their bodies never become regular files.
	for name, target := range map[string]string{"link": "a.txt", "d/dangling": "../nowhere"} {
		if err := os.Symlink(target, filepath.Join(src, name)); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(src, "d", "b.bin"), old, old); err != nil {
		t.Fatal(err)
	}
	env := append(stateEnvFor(t), "AWS_ACCESS_KEY_ID="+srv.AccessKey, "AWS_SECRET_ACCESS_KEY="+srv.SecretKey, "AWS_REGION="+miniotest.Region)
	r := efssync(t, append(env, "AWS_ENDPOINT_URL_S3="+srv.Endpoint), "copy", "--json", src, "s3://roundtrip/backup")
	mustCode(t, r, 0)
	if s := summaryOf(t, r.stdout); s["copied"] != float64(3) {
		t.Errorf("archive: %v", s)
	}
	// The same pair again: incremental.
	r = efssync(t, append(env, "AWS_ENDPOINT_URL_S3="+srv.Endpoint), "copy", "--json", src, "s3://roundtrip/backup")
	mustCode(t, r, 0)
	if s := summaryOf(t, r.stdout); s["copied"] != float64(0) {
		t.Errorf("second archive is not incremental: %v", s)
	}
	r = efssync(t, env, "copy", "--s3-endpoint", srv.Endpoint, "s3://roundtrip/backup", restore)
	mustCode(t, r, 0)
	treetest.Equal(t, src, restore)
	if target, err := os.Readlink(filepath.Join(restore, "d", "dangling")); err != nil || target != "../nowhere" {
		t.Errorf("restored symlink: %q, %v", target, err)
	}
	r = efssync(t, env, "copy", "--json", "--s3-endpoint", srv.Endpoint, "s3://roundtrip/backup", restore)
	mustCode(t, r, 0)
	if s := summaryOf(t, r.stdout); s["copied"] != float64(0) || s["failed"] != float64(0) {
		t.Errorf("second restore is not incremental: %v", s)
	}
}

// S3 failures of a one-off copy are one clear message and exit 4: nothing
// could be done.
func TestCopyS3Unusable(t *testing.T) {
	t.Parallel()
	srv := miniotest.Start(t)
	src := mkdirs(t, t.TempDir(), "src")[0]
	writeTestFile(t, filepath.Join(src, "f"), "x")
	env := append(stateEnvFor(t), "AWS_ACCESS_KEY_ID="+srv.AccessKey, "AWS_SECRET_ACCESS_KEY="+srv.SecretKey,
		"AWS_REGION="+miniotest.Region, "AWS_ENDPOINT_URL="+srv.Endpoint)
	r := efssync(t, env, "copy", src, "s3://no-such-bucket/x")
	mustCode(t, r, ExitNothingDone)
	if !strings.Contains(r.stderr, "the bucket does not exist") {
		t.Errorf("missing bucket not said plainly:\n%s", r.stderr)
	}
}

// An S3 source gets the same clear messages as an S3 destination: a
// missing bucket and refused credentials are one line each, exit 4.
func TestCopyFromS3Unusable(t *testing.T) {
	t.Parallel()
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "exists")
	dst := mkdirs(t, t.TempDir(), "dst")[0]
	env := append(stateEnvFor(t), "AWS_REGION="+miniotest.Region, "AWS_ENDPOINT_URL="+srv.Endpoint, "AWS_ACCESS_KEY_ID="+srv.AccessKey)
	r := efssync(t, append(env, "AWS_SECRET_ACCESS_KEY="+srv.SecretKey), "copy", "s3://no-such-bucket/x", dst)
	mustCode(t, r, ExitNothingDone)
	if n := strings.Count(r.stderr, "the bucket does not exist"); n != 1 {
		t.Errorf("missing source bucket: %d messages, want 1:\n%s", n, r.stderr)
	}
	r = efssync(t, append(env, "AWS_SECRET_ACCESS_KEY=wrong"), "copy", "s3://exists/x", dst)
	mustCode(t, r, ExitNothingDone)
	if n := strings.Count(r.stderr, "access denied"); n != 1 || strings.Contains(r.stderr, "SignatureDoesNotMatch\"") {
		t.Errorf("wrong credentials for the source: want one access-denied message, got %d:\n%s", n, r.stderr)
	}
}
