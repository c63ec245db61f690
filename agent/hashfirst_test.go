package agent

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/zeebo/blake3"

	"github.com/efssync/efssync/internal/treetest"
)

// A finished file archived as a multipart upload carries its BLAKE3 in the
// object's metadata from CreateMultipartUpload on, so a restore reads it
// from the GET response; tags are only for uploads begun while a file grew.
// The variants: exactly one part long, several parts, and one byte short of
// a part (a single PutObject, hashed on the way).
func TestArchivedFinishedFileCarriesBLAKE3AsMetadata(t *testing.T) {
	f, srv, bucket := s3Fixture(t, 1)
	const part = 5 << 20
	files := map[string][]byte{
		"one-part.mp4":   bytes.Repeat([]byte("a"), part),
		"three-part.mp4": bytes.Repeat([]byte("0123456789abcdef"), (12<<20)/16+3),
		"single-put.mp4": bytes.Repeat([]byte("b"), part-1),
	}
	for rel, b := range files {
		must(t, os.WriteFile(filepath.Join(f.src, rel), b, 0o644))
	}
	if sum := f.run(Options{}); !sum.OK() || sum.Copied != 3 {
		t.Fatalf("run: %+v", sum)
	}
	ctx := context.Background()
	for rel, b := range files {
		key := aws.String("rec/" + rel)
		head, err := srv.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: key})
		must(t, err)
		sum := blake3.Sum256(b)
		if got := head.Metadata["blake3"]; got != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: x-amz-meta-blake3 %q, want %x (metadata %v)", rel, got, sum, head.Metadata)
		}
		tags, err := srv.Client().GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(bucket), Key: key})
		must(t, err)
		for _, tg := range tags.TagSet {
			if strings.HasPrefix(aws.ToString(tg.Key), "efssync-") {
				t.Errorf("%s: tag %s set although the hash is in the metadata", rel, aws.ToString(tg.Key))
			}
		}
	}
	treetest.Equal(t, f.src, f.dests[0])
}

// In watch mode a finished recording renamed into the source is complete
// from its first event: it is hashed first too, and its multipart object
// carries the BLAKE3 as metadata, where a file still being written gets
// tags (TestWatchRecordingToS3CompletesSoonAfterClose).
func TestWatchRenamedInFileCarriesBLAKE3AsMetadata(t *testing.T) {
	f, srv, bucket := s3Fixture(t, 0)
	ready, stop := f.startWatch(t)
	<-ready
	data := bytes.Repeat([]byte("finished recording "), (11<<20)/19) // three parts of 5 MiB
	staged := filepath.Join(f.dir, "staged.ts")
	must(t, os.WriteFile(staged, data, 0o644))
	must(t, os.Rename(staged, filepath.Join(f.src, "done.ts")))
	ctx := context.Background()
	key := aws.String("rec/done.ts")
	var head *s3.HeadObjectOutput
	eventually(t, "object complete", func() bool {
		var err error
		head, err = srv.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: key})
		return err == nil
	})
	stop()
	sum := blake3.Sum256(data)
	if got := head.Metadata["blake3"]; got != hex.EncodeToString(sum[:]) {
		t.Errorf("x-amz-meta-blake3 %q, want %x (metadata %v)", got, sum, head.Metadata)
	}
	if got := getObject(t, srv, bucket, "rec/done.ts"); !bytes.Equal(got, data) {
		t.Fatal("object differs from the file")
	}
}
