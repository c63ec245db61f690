package agent

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/efssync/efssync/internal/miniotest"
)

// forgeMultipart puts a multipart upload of body in parts of partSize at
// key, carrying the metadata and tags of the object at like, as a
// re-upload by another tool that copied them would.
func forgeMultipart(t *testing.T, srv *miniotest.Server, bucket, key, like string, body []byte, partSize int) {
	t.Helper()
	ctx := context.Background()
	cl := srv.Client()
	head, tags := metaAndTags(t, srv, bucket, like)
	up, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Metadata: head.Metadata, ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c})
	must(t, err)
	var parts []types.CompletedPart
	for n, off := int32(1), 0; off < len(body); n, off = n+1, off+partSize {
		p, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: up.UploadId,
			PartNumber: aws.Int32(n), Body: bytes.NewReader(body[off:min(off+partSize, len(body))]),
			ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c})
		must(t, err)
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(n), ETag: p.ETag, ChecksumCRC32C: p.ChecksumCRC32C})
	}
	_, err = cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key),
		UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	must(t, err)
	if len(tags.TagSet) > 0 {
		_, err = cl.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String(key),
			Tagging: &types.Tagging{TagSet: tags.TagSet}})
		must(t, err)
	}
}

// metaAndTags returns the object at key's HEAD and tags.
func metaAndTags(t *testing.T, srv *miniotest.Server, bucket, key string) (*s3.HeadObjectOutput, *s3.GetObjectTaggingOutput) {
	t.Helper()
	ctx := context.Background()
	head, err := srv.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	must(t, err)
	tags, err := srv.Client().GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	must(t, err)
	return head, tags
}

// forgeByCopy replaces the object at key with a server-side copy of an
// object holding body, given the original's metadata and tags.
func forgeByCopy(t *testing.T, srv *miniotest.Server, bucket, key string, body []byte) {
	t.Helper()
	ctx := context.Background()
	cl := srv.Client()
	other := key + ".other"
	forgeMultipart(t, srv, bucket, other, key, body, 5<<20)
	head, tags := metaAndTags(t, srv, bucket, key)
	_, err := cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		CopySource: aws.String(bucket + "/" + other), Metadata: head.Metadata,
		MetadataDirective: types.MetadataDirectiveReplace})
	must(t, err)
	if len(tags.TagSet) > 0 {
		_, err = cl.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String(key),
			Tagging: &types.Tagging{TagSet: tags.TagSet}})
		must(t, err)
	}
	_, err = cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(other)})
	must(t, err)
}

// The archive-before-delete check on the multipart path (issue 11, weak
// spots): a file of a few MiB over a 5 MiB part_size is archived as a
// multipart object, whose stored checksum is the composite CRC32C of its
// parts. Under verify: transferred, a copy holding the source's bytes lets
// the source go, also when it was uploaded in parts of another size (the
// same part count, so another composite checksum); an object of the same size with the original's metadata
// and tags but other bytes (re-uploaded in the same part layout, in
// another layout, or put there by a server-side copy) keeps the source.
func TestArchiveChecksMultipartObjectsAgainstTheSource(t *testing.T) {
	f, srv, bucket := s3Fixture(t, 0)
	f.extra = "    finished: {quiet: 60s}\n"
	const size = 12<<20 + 4321 // three parts of 5 MiB, the last one short
	rng := rand.New(rand.NewPCG(11, 12))
	content := func() []byte {
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	names := []string{"good.mp4", "relayout.mp4", "same-layout.mp4", "other-layout.mp4", "server-copy.mp4"}
	kept := names[2:]
	old := time.Now().Add(-2 * time.Minute)
	for _, n := range names {
		p := filepath.Join(f.src, n)
		must(t, os.WriteFile(p, content(), 0o644))
		must(t, os.Chtimes(p, old, old))
	}
	if sum := f.run(Options{}); !sum.OK() || sum.Copied != int64(len(names)) {
		t.Fatalf("first run: %+v", sum)
	}
	for _, n := range names {
		head, err := srv.Client().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket),
			Key: aws.String("rec/" + n), ChecksumMode: types.ChecksumModeEnabled})
		must(t, err)
		if c := aws.ToString(head.ChecksumCRC32C); !strings.HasSuffix(c, "-3") {
			t.Fatalf("%s: stored CRC32C %q (type %s), want a composite one of 3 parts (the multipart path)", n, c, head.ChecksumType)
		}
	}
	// The source's own bytes in parts of 6 MiB: three parts as well, so
	// the part count alone does not tell the layout.
	relayout, err := os.ReadFile(filepath.Join(f.src, "relayout.mp4"))
	must(t, err)
	forgeMultipart(t, srv, bucket, "rec/relayout.mp4", "rec/relayout.mp4", relayout, 6<<20)
	forgeMultipart(t, srv, bucket, "rec/same-layout.mp4", "rec/same-layout.mp4", content(), 5<<20)
	forgeMultipart(t, srv, bucket, "rec/other-layout.mp4", "rec/other-layout.mp4", content(), 6<<20)
	forgeByCopy(t, srv, bucket, "rec/server-copy.mp4", content())

	f.extra += "    after_archive: delete\n"
	sum := f.run(Options{})
	for _, n := range names[:2] {
		if _, err := os.Stat(filepath.Join(f.src, n)); !os.IsNotExist(err) {
			t.Errorf("%s: source not archived although its object holds its bytes (%+v): %v", n, sum, err)
		}
	}
	for _, n := range kept {
		if _, err := os.Stat(filepath.Join(f.src, n)); err != nil {
			t.Errorf("%s: source removed although its object holds other bytes (%+v): %v", n, sum, err)
		}
	}
	if sum.Failed != int64(len(kept)) {
		t.Errorf("want %d failed verifications: %+v", len(kept), sum)
	}
}
