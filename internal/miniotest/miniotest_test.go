package miniotest

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestStartRestart checks the harness end to end: a bucket and an object
// survive Restart, and Stop makes the endpoint unreachable.
func TestStartRestart(t *testing.T) {
	s := Start(t)
	s.CreateBucket(t, "bkt")
	ctx := context.Background()
	_, err := s.Client().PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("bkt"), Key: aws.String("k"), Body: bytes.NewReader([]byte("data")),
	})
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	s.Stop()
	if _, err := s.Client().HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("bkt")}, func(o *s3.Options) {
		o.RetryMaxAttempts = 1
	}); err == nil {
		t.Fatal("HeadBucket succeeded against a stopped server")
	}
	s.Restart(t)
	out, err := s.Client().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if err != nil {
		t.Fatalf("get after restart: %v", err)
	}
	b, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(b) != "data" {
		t.Fatalf("got %q after restart", b)
	}
}
