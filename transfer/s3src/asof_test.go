package s3src_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/efssync/efssync/internal/miniotest"
	"github.com/efssync/efssync/transfer/s3src"
)

// TestAsOf restores from a versioned bucket the versions current at a
// point in time: a later overwrite, delete and new key must not show.
func TestAsOf(t *testing.T) {
	t.Parallel()
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "versioned")
	e := &env{srv: srv, bucket: "versioned", cl: srv.Client()}
	if _, err := e.cl.PutBucketVersioning(t.Context(), &s3.PutBucketVersioningInput{Bucket: &e.bucket,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	e.put(t, "v/a", []byte("a one"))
	e.put(t, "v/b", []byte("b one"))
	e.put(t, "v/c/d", []byte("d one"))
	e.put(t, "v/gone", []byte("deleted before as_of"))
	e.del(t, "v/gone")

	newest, _ := e.source(t, "v/", nil)
	var asOf time.Time
	for _, o := range list(t, newest) {
		if o.LastModified.After(asOf) { // listings carry milliseconds
			asOf = o.LastModified
		}
	}
	e.passMillisecond(t, asOf)

	e.put(t, "v/a", []byte("a two"))
	e.del(t, "v/b")
	e.put(t, "v/e", []byte("new after as_of"))

	past, _ := e.source(t, "v/", func(o *s3src.Options) { o.AsOf = asOf })
	got := list(t, past)
	want := map[string]string{"a": "a one", "b": "b one", "c/d": "d one"}
	if len(got) != len(want) {
		t.Fatalf("as_of listing has %v, want %v", keys(got), want)
	}
	for rel, content := range want {
		o, ok := got[rel]
		if !ok || o.VersionID == "" {
			t.Fatalf("%s missing or without a version: %+v", rel, o)
		}
		data, r := readAll(t, past, o, nil)
		if string(data) != content || r.Meta().VersionID != o.VersionID {
			t.Errorf("%s as of %v read %q (version %s), want %q", rel, asOf, data, r.Meta().VersionID, content)
		}
	}
	now := list(t, newest)
	if _, ok := now["b"]; ok || len(now) != 3 {
		t.Errorf("newest listing has %v, want a, c/d, e", keys(now))
	}
	if data, _ := readAll(t, newest, now["a"], nil); !bytes.Equal(data, []byte("a two")) {
		t.Errorf("newest a = %q", data)
	}
	before, _ := e.source(t, "v/", func(o *s3src.Options) { o.AsOf = asOf.Add(-time.Hour) })
	if got := list(t, before); len(got) != 0 {
		t.Errorf("as_of before the first upload lists %v", keys(got))
	}
}

func (e *env) del(t *testing.T, key string) {
	t.Helper()
	if _, err := e.cl.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: &e.bucket, Key: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
}

// passMillisecond writes a scratch object outside the tested prefix until
// the server's clock, as listings show it, is past t: what is written next
// is strictly newer than t.
func (e *env) passMillisecond(t *testing.T, after time.Time) {
	t.Helper()
	scratch, _ := e.source(t, "clock/", nil)
	for range 1000 {
		e.put(t, "clock/tick", nil)
		if o := lookup(t, scratch, "tick"); o.LastModified.After(after) {
			return
		}
	}
	t.Fatalf("the server's clock did not pass %v", after)
}
