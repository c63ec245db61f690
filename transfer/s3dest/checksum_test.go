package s3dest_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/s3dest"
)

// TestStoredChecksum: the checksum S3 computed over an object's bytes is
// recomputed from the local file without a download, for a PutObject
// (full CRC32C) and a multipart upload (composite CRC32C), and a same-size
// object with other bytes (its efssync metadata copied over) does not
// match.
func TestStoredChecksum(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	d, _ := e.dest(t, nil)
	put := func(rel string, content []byte) {
		t.Helper()
		m := transfer.Meta{Size: int64(len(content)), Mode: 0o644, ModTime: time.Unix(1_700_000_000, 0), UID: -1, GID: -1}
		u, err := d.Begin(ctx, rel, m, nil)
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < len(content); off += 1 << 20 {
			if err := u.Write(ctx, int64(off), content[off:min(off+1<<20, len(content))]); err != nil {
				t.Fatal(err)
			}
		}
		if err := u.Commit(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	small := []byte("a small recording")
	big := bytes.Repeat([]byte("0123456789abcdef"), (2*int(partSize)+12345)/16)
	put("small.ts", small)
	put("big.mp4", big)
	for _, c := range []struct {
		rel     string
		content []byte
		full    bool
		parts   int
	}{{"small.ts", small, true, 1}, {"big.mp4", big, false, 3}} {
		sum, err := d.Checksum(ctx, c.rel)
		if err != nil {
			t.Fatalf("%s: Checksum: %v", c.rel, err)
		}
		if sum.Algorithm != "CRC32C" || sum.Full != c.full || sum.Parts() != c.parts {
			t.Errorf("%s: stored checksum %+v, want CRC32C full=%v with %d parts", c.rel, sum, c.full, c.parts)
		}
		got, err := s3dest.Compute(bytes.NewReader(c.content), int64(len(c.content)), sum, partSize)
		if err != nil || got != sum.Value {
			t.Errorf("%s: local checksum %q, %v; S3 has %q", c.rel, got, err, sum.Value)
		}
		changed := bytes.Clone(c.content)
		changed[len(changed)/2] ^= 1
		if got, _ := s3dest.Compute(bytes.NewReader(changed), int64(len(changed)), sum, partSize); got == sum.Value {
			t.Errorf("%s: a changed byte still matches the stored checksum", c.rel)
		}
	}

	// A same-size object with other bytes and the original's metadata, as
	// CopyObject or another tool would leave it.
	cl := e.srv.Client()
	key, _ := d.Key("small.ts")
	head, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	other := bytes.Repeat([]byte("x"), len(small))
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(key), Body: bytes.NewReader(other),
		Metadata: head.Metadata, ChecksumAlgorithm: types.ChecksumAlgorithmCrc64nvme}); err != nil {
		t.Fatal(err)
	}
	sum, err := d.Checksum(ctx, "small.ts")
	if errors.Is(err, s3dest.ErrNoChecksum) {
		t.Fatalf("the replaced object: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s3dest.Compute(bytes.NewReader(small), int64(len(small)), sum, partSize); err != nil || got == sum.Value {
		t.Errorf("the source matches an object with other bytes (%+v): %q, %v", sum, got, err)
	}
	if got, err := s3dest.Compute(bytes.NewReader(other), int64(len(other)), sum, partSize); err != nil || got != sum.Value {
		t.Errorf("%s checksum of the replacing bytes: %q, %v; S3 has %q", sum.Algorithm, got, err, sum.Value)
	}
}
