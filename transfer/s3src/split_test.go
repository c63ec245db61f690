package s3src

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/efssync/efssync/internal/miniotest"
	"github.com/efssync/efssync/transfer/s3client"
	"github.com/efssync/efssync/transfer/s3dest"
	"github.com/efssync/efssync/transfer/transfertest"
)

// TestSplitReads: an object archived in parts smaller than PartSize is
// read with as many GETs in flight as its parts fit in PartSize ×
// PartConcurrency bytes, and a large object stored whole is read in
// ranges cut the same way; both byte-exact.
func TestSplitReads(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "split")
	d, err := s3dest.New(t.Context(), s3dest.Options{Bucket: "split", Region: miniotest.Region, Endpoint: srv.Endpoint,
		PathStyle: true, PartSize: 5 * mib, Credentials: srv.Credentials()})
	if err != nil {
		t.Fatal(err)
	}
	parted := transfertest.Content(7, 4*5*mib+9)
	u, err := d.Begin(t.Context(), "parted.bin", transfertest.Meta(parted, true), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Write(t.Context(), 0, parted); err != nil {
		t.Fatal(err)
	}
	if err := u.Commit(t.Context(), transfertest.Meta(parted, true)); err != nil {
		t.Fatal(err)
	}
	whole := transfertest.Content(8, 32*mib)
	if _, err := srv.Client().PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("split"), Key: aws.String("whole.bin"), Body: bytes.NewReader(whole)}); err != nil {
		t.Fatal(err)
	}

	s, err := New(t.Context(), Options{Bucket: "split", PartSize: 20 * mib, PartConcurrency: 2,
		Client: s3client.Options{Region: miniotest.Region, Endpoint: srv.Endpoint, PathStyle: true,
			Credentials: srv.Credentials(), MaxAttempts: 3, MaxBackoff: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	objs := make(chan Object, 4)
	go func() { _ = s.List(t.Context(), objs) }()
	for o := range objs {
		want, slots := parted, 8 // 5 MiB parts in 2 × 20 MiB
		if o.Rel == "whole.bin" {
			want, slots = whole, 5 // 32 MiB in 4 ranges of 8 MiB, 5 fit in 40 MiB
		}
		r, err := s.Open(t.Context(), o, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cap(r.sem) != slots {
			t.Errorf("%s: %d GETs may be in flight, want %d", o.Rel, cap(r.sem), slots)
		}
		var got []byte
		for {
			c, err := r.Next(t.Context())
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", o.Rel, err)
			}
			got = append(got, c.Data...)
			c.Release()
		}
		r.Close()
		if !bytes.Equal(got, want) {
			t.Errorf("%s: read %d bytes that differ from the %d stored", o.Rel, len(got), len(want))
		}
	}
}
