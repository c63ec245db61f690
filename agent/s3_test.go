package agent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/efssync/efssync/agent/report"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/efssync/efssync/internal/miniotest"
	"github.com/efssync/efssync/internal/treetest"
)

// s3Fixture adds a real MinIO bucket as a destination of the fixture's job.
func s3Fixture(t *testing.T, nfs int) (*fixture, *miniotest.Server, string) {
	srv := miniotest.Start(t)
	bucket := "archive"
	srv.CreateBucket(t, bucket)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	f := newFixture(t, nfs)
	f.s3 = fmt.Sprintf("      - {type: s3, bucket: %s, prefix: rec, endpoint: %q, path_style: true, part_size: 5MiB}\n", bucket, srv.Endpoint)
	return f, srv, bucket
}

func getObject(t *testing.T, srv *miniotest.Server, bucket, key string) []byte {
	t.Helper()
	out, err := srv.Client().GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get s3://%s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	must(t, err)
	return b
}

func TestFanOutToFSAndS3(t *testing.T) {
	f, srv, bucket := s3Fixture(t, 1)
	rels := treetest.Random(t, f.src, 3, 20, 32<<10)
	big := bytes.Repeat([]byte("0123456789abcdef"), (12<<20)/16+3) // three parts of 5 MiB
	must(t, os.WriteFile(filepath.Join(f.src, "big.mp4"), big, 0o644))
	treetest.Write(t, f.src, map[string]string{"empty": ""})
	sum := f.run(Options{})
	if !sum.OK() || sum.Copied != 22 {
		t.Fatalf("run: %+v", sum)
	}
	treetest.Equal(t, f.src, f.dests[0])
	for _, rel := range append(rels, "big.mp4", "empty") {
		want, _ := os.ReadFile(filepath.Join(f.src, rel))
		if got := getObject(t, srv, bucket, "rec/"+rel); !bytes.Equal(got, want) {
			t.Fatalf("s3 object %s differs", rel)
		}
	}
	if sum = f.run(Options{}); sum.Copied != 0 || sum.Opened != 0 {
		t.Fatalf("unchanged rerun: %+v", sum)
	}
	// verify: all re-reads every object.
	f.extra += "    verify: all\n"
	must(t, os.WriteFile(filepath.Join(f.src, "big.mp4"), append(big, 'x'), 0o644))
	if sum = f.run(Options{}); !sum.OK() || sum.Copied != 1 {
		t.Fatalf("verify-all run: %+v", sum)
	}
	a, err := New(f.config(), Options{})
	must(t, err)
	var out bytes.Buffer
	n, err := a.Verify(context.Background(), &out)
	a.Close()
	must(t, err)
	if n != 0 {
		t.Fatalf("verify found %d differences:\n%s", n, out.String())
	}
}

func TestArchiveDeletesSourceOnlyAfterVerification(t *testing.T) {
	f, srv, bucket := s3Fixture(t, 0)
	f.extra = "    finished: {quiet: 60s}\n    after_archive: delete\n"
	treetest.Write(t, f.src, map[string]string{"done.ts": "finished recording", "live.ts": "still growing"})
	old := time.Now().Add(-2 * time.Minute)
	must(t, os.Chtimes(filepath.Join(f.src, "done.ts"), old, old))

	sum := f.run(Options{})
	if !sum.OK() || sum.Copied != 1 {
		t.Fatalf("run: %+v", sum)
	}
	if _, err := os.Stat(filepath.Join(f.src, "done.ts")); !os.IsNotExist(err) {
		t.Fatalf("archived source not removed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.src, "live.ts")); err != nil {
		t.Fatalf("unfinished recording touched: %v", err)
	}
	if got := getObject(t, srv, bucket, "rec/done.ts"); string(got) != "finished recording" {
		t.Fatalf("object content %q", got)
	}
	if _, err := srv.Client().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("rec/live.ts")}); err == nil {
		t.Fatal("a recording still changing was uploaded")
	}

	// An object that no longer matches keeps the source.
	treetest.Write(t, f.src, map[string]string{"second.ts": "second recording"})
	must(t, os.Chtimes(filepath.Join(f.src, "second.ts"), old, old))
	f.extra = "    finished: {quiet: 60s}\n"
	f.run(Options{})
	_, err := srv.Client().PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket),
		Key: aws.String("rec/second.ts"), Body: bytes.NewReader([]byte("tampered"))})
	must(t, err)
	f.extra = "    finished: {quiet: 60s}\n    after_archive: delete\n"
	sum = f.run(Options{})
	if sum.Failed != 1 {
		t.Fatalf("want one failed verification, got %+v", sum)
	}
	if _, err := os.Stat(filepath.Join(f.src, "second.ts")); err != nil {
		t.Fatalf("source removed although its archive did not verify: %v", err)
	}
}

func TestMirrorDeleteOnS3(t *testing.T) {
	f, srv, bucket := s3Fixture(t, 0)
	f.extra = "    delete: mirror\n    max_delete: \"50%\"\n"
	treetest.Write(t, f.src, map[string]string{"a": "1", "b": "2", "c/d": "3", "e": "4"})
	f.run(Options{})
	must(t, os.Remove(filepath.Join(f.src, "b")))
	sum := f.run(Options{})
	if !sum.OK() || sum.Deleted != 1 {
		t.Fatalf("run: %+v", sum)
	}
	if _, err := srv.Client().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("rec/b")}); err == nil {
		t.Fatal("rec/b not deleted")
	}
	getObject(t, srv, bucket, "rec/c/d")
}

// TestS3SourceChangedDuringUploadIsNeverCompleted rewrites a multipart
// file while it is read: the object must not be completed from the mixed
// data, and the next run uploads the new version whole.
func TestS3SourceChangedDuringUploadIsNeverCompleted(t *testing.T) {
	f, srv, bucket := s3Fixture(t, 0)
	p := filepath.Join(f.src, "rec.ts")
	first := bytes.Repeat([]byte("A"), 11<<20)
	must(t, os.WriteFile(p, first, 0o644))
	a, err := New(f.config(), Options{})
	must(t, err)
	c := &report.Counters{}
	rep, _ := report.Open("")
	j, err := a.newJobRun(context.Background(), a.cfg.Jobs[0], rep, c)
	must(t, err)
	j.a.opts.Sources = readHook(func(string) {
		must(t, os.WriteFile(p, bytes.Repeat([]byte("B"), 7<<20), 0o644))
	})
	must(t, j.syncOnce(context.Background()))
	a.Close()
	if c.Changed.Load() != 1 {
		t.Fatalf("changed = %d, want 1", c.Changed.Load())
	}
	if _, err := srv.Client().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("rec/rec.ts")}); err == nil {
		t.Fatal("an object was completed from a source that changed during its upload")
	}
	sum := f.run(Options{})
	if !sum.OK() || sum.Copied != 1 {
		t.Fatalf("next run: %+v", sum)
	}
	want, _ := os.ReadFile(p)
	if got := getObject(t, srv, bucket, "rec/rec.ts"); !bytes.Equal(got, want) {
		t.Fatal("object differs from the source")
	}
}

// TestFailingDestinationDoesNotStopOthers sends to a good directory and to
// a bucket that does not exist: every file reaches the directory, every
// report line for the bucket names it, and the run exits with failures.
func TestFailingDestinationDoesNotStopOthers(t *testing.T) {
	f, srv, _ := s3Fixture(t, 1)
	f.s3 = strings.Replace(f.s3, "bucket: archive", "bucket: no-such-bucket", 1)
	treetest.Random(t, f.src, 5, 30, 8<<10)
	rp := filepath.Join(f.dir, "report.jsonl")
	a, err := New(f.config(), Options{ReportPath: rp})
	must(t, err)
	sum, err := a.Run(context.Background())
	a.Close()
	must(t, err)
	if sum.OK() || sum.Failed == 0 {
		t.Fatalf("want failures, got %+v", sum)
	}
	treetest.Equal(t, f.src, f.dests[0])
	data, err := os.ReadFile(rp)
	must(t, err)
	if !strings.Contains(string(data), "no-such-bucket") {
		t.Fatalf("report does not name the failing bucket:\n%.2000s", data)
	}
	_ = srv
}

// TestWatchRecordingToS3CompletesSoonAfterClose writes a recording of
// 96 MiB at a steady rate in watch mode: parts go up while it is written, so
// at the writer's close only the tail is left.
func TestWatchRecordingToS3CompletesSoonAfterClose(t *testing.T) {
	f, srv, bucket := s3Fixture(t, 0)
	ready, stop := f.startWatch(t)
	<-ready
	w, err := os.Create(filepath.Join(f.src, "recording.ts"))
	must(t, err)
	chunk := make([]byte, 1<<20)
	var all []byte
	for i := range 96 {
		for k := range chunk {
			chunk[k] = byte(i + k)
		}
		_, err := w.Write(chunk)
		must(t, err)
		all = append(all, chunk...)
		time.Sleep(10 * time.Millisecond) // a steady writer, ~100 MiB/s
	}
	// Before the close, most parts must already be in S3.
	cl := srv.Client()
	eventually(t, "parts uploaded while writing", func() bool {
		ups, err := cl.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
		if err != nil || len(ups.Uploads) != 1 {
			return false
		}
		parts, err := cl.ListParts(context.Background(), &s3.ListPartsInput{Bucket: aws.String(bucket), Key: ups.Uploads[0].Key, UploadId: ups.Uploads[0].UploadId})
		return err == nil && len(parts.Parts) >= 15
	})
	must(t, w.Close())
	closed := time.Now()
	eventually(t, "object complete", func() bool {
		_, err := cl.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("rec/recording.ts")})
		return err == nil
	})
	t.Logf("object complete %v after the writer's close", time.Since(closed))
	stop()
	if got := getObject(t, srv, bucket, "rec/recording.ts"); !bytes.Equal(got, all) {
		t.Fatal("object differs from the recording")
	}
}

// TestGCAbortsOnlyThisAgentsStaleUploads: gc aborts the uploads this agent
// checkpointed for a source version that is gone, and leaves alone another
// agent's upload under the same prefix and its temp files at an fs
// destination.
func TestGCAbortsOnlyThisAgentsStaleUploads(t *testing.T) {
	// This agent's own upload, checkpointed for a version of rec.ts that
	// has since changed.
	s := newStaleUpload(t)
	f := s.f
	ctx := context.Background()
	// Another agent's upload in flight under our prefix.
	other, err := s.cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(s.bucket), Key: aws.String("rec/other.ts")})
	must(t, err)
	a, err := New(f.config(), Options{})
	must(t, err)
	s.checkpoint(t, a)
	// Temp files at the fs destination: another agent's and ours.
	foreign := filepath.Join(f.dests[0], ".efssync-tmp-0ther000-0123456789abcdef")
	ownTmp := filepath.Join(f.dests[0], ".efssync-tmp-"+a.tag+"-0123456789abcdef")
	must(t, os.WriteFile(foreign, []byte("x"), 0o600))
	must(t, os.WriteFile(ownTmp, []byte("x"), 0o600))

	n, err := a.GC(ctx)
	a.Close()
	must(t, err)
	if n != 2 {
		t.Errorf("gc removed %d, want 2 (our stale upload and our temp file)", n)
	}
	if ups := s.uploads(t); len(ups) != 1 || *ups[0].UploadId != *other.UploadId {
		t.Fatalf("uploads left: %+v; want only the other agent's", ups)
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Fatalf("another agent's temp file was removed: %v", err)
	}
	if _, err := os.Stat(ownTmp); !os.IsNotExist(err) {
		t.Fatalf("our own temp file was kept: %v", err)
	}
}
