package agent

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// An S3 upload of a file still being written, interrupted by a stop of the
// watching agent, resumes on the next start: the parts S3 acknowledged are
// not sent again. With rewrite, the writer changes bytes of those parts
// while the agent is down (same inode): the checkpoint's identity no longer
// matches and the file is sent whole, never completed from stale parts.
func TestWatchResumesGrowingS3Upload(t *testing.T) {
	t.Run("same source", func(t *testing.T) { testWatchResume(t, false) })
	t.Run("rewritten while down", func(t *testing.T) { testWatchResume(t, true) })
}

func testWatchResume(t *testing.T, rewrite bool) {
	f, srv, bucket := s3Fixture(t, 0)
	addr, sent := countingProxy(t, srv.Addr)
	f.s3 = strings.Replace(f.s3, srv.Endpoint, "http://"+addr, 1)
	cl := srv.Client()
	p := filepath.Join(f.src, "rec.ts")
	data := make([]byte, 15<<20) // three parts of 5 MiB
	_, _ = rand.NewChaCha8([32]byte{3}).Read(data)

	ready, stop := f.startWatch(t)
	<-ready
	w, err := os.Create(p)
	must(t, err)
	_, err = w.Write(data[:11<<20])
	must(t, err)
	eventually(t, "two parts acknowledged", func() bool { return partsUploaded(t, cl, bucket) >= 2 })
	stop()

	_, err = w.Write(data[11<<20:])
	must(t, err)
	if rewrite {
		data[0], data[1] = 'X', 'Y'
		_, err = w.WriteAt(data[:2], 0)
		must(t, err)
	}
	must(t, w.Close())

	before := sent.Load()
	f2 := *f
	ready, stop = f2.startWatch(t)
	<-ready
	eventually(t, "object complete", func() bool {
		_, err := cl.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("rec/rec.ts")})
		return err == nil
	})
	stop()
	resent := sent.Load() - before
	if got := getObject(t, srv, bucket, "rec/rec.ts"); !bytes.Equal(got, data) {
		t.Fatal("the object differs from the source")
	}
	switch {
	case !rewrite && resent > 6<<20:
		t.Fatalf("resumed upload sent %d bytes of a 15 MiB file with 10 MiB acknowledged", resent)
	case rewrite && resent < 15<<20:
		t.Fatalf("a rewritten source sent only %d bytes: stale parts were kept", resent)
	}
}

// partsUploaded counts the parts of the bucket's multipart uploads.
func partsUploaded(t *testing.T, cl *s3.Client, bucket string) int {
	ctx := context.Background()
	ups, err := cl.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	must(t, err)
	n := 0
	for _, u := range ups.Uploads {
		parts, err := cl.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bucket), Key: u.Key, UploadId: u.UploadId})
		must(t, err)
		n += len(parts.Parts)
	}
	return n
}

// Issue 20 item 5: a watch agent stopped while a recording is still being
// written, and started again at once, hands the file to a follower in its
// first pass, which resumes the checkpointed upload. Copied as a finished
// file instead, it was sent again whole and then followed from zero. The
// whole recording costs at most 1.3x its size on the wire, both runs
// together. The agent is stopped by its context here, not SIGKILLed; the
// checkpoint it resumes is the one each acknowledged part leaves.
func TestWatchRestartResumesAFileStillBeingWritten(t *testing.T) {
	f, srv, bucket := s3Fixture(t, 0)
	addr, sent := countingProxy(t, srv.Addr)
	f.s3 = strings.Replace(f.s3, srv.Endpoint, "http://"+addr, 1)
	cl := srv.Client()
	p := filepath.Join(f.src, "rec.ts")
	data := make([]byte, 20<<20) // four parts of 5 MiB
	_, _ = rand.NewChaCha8([32]byte{5}).Read(data)

	ready, stop := f.startWatch(t)
	<-ready
	w, err := os.Create(p)
	must(t, err)
	_, err = w.Write(data[:11<<20])
	must(t, err)
	eventually(t, "two parts acknowledged", func() bool { return partsUploaded(t, cl, bucket) >= 2 })
	stop()

	f2 := *f
	ready, stop = f2.startWatch(t)
	<-ready
	_, err = w.Write(data[11<<20:])
	must(t, err)
	must(t, w.Close())
	eventually(t, "object complete", func() bool {
		_, err := cl.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("rec/rec.ts")})
		return err == nil
	})
	stop()
	if got := getObject(t, srv, bucket, "rec/rec.ts"); !bytes.Equal(got, data) {
		t.Fatal("the object differs from the source")
	}
	if total, limit := sent.Load(), int64(len(data))*13/10; total > limit {
		t.Fatalf("%d bytes on the wire for a %d-byte recording (%.2fx), more than 1.3x", total, len(data), float64(total)/float64(len(data)))
	}
	t.Logf("%.2fx the recording on the wire", float64(sent.Load())/float64(len(data)))
}
