package agent

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/efssync/efssync/agent/send"
	"github.com/efssync/efssync/internal/treetest"
	"github.com/efssync/efssync/transfer"
)

// TestShardGCLeavesOtherShardsUploads: two shards share a bucket prefix.
// Shard 1 checkpointed an upload whose source version is gone; gc by shard
// 0 leaves it (and shard 0's tag for temp files differs from shard 1's),
// gc by shard 1 aborts it.
func TestShardGCLeavesOtherShardsUploads(t *testing.T) {
	f, srv, bucket := s3Fixture(t, 1)
	cl := srv.Client()
	ctx := context.Background()
	treetest.Write(t, f.src, map[string]string{"rec.ts": "recording"})
	up, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("rec/rec.ts")})
	must(t, err)
	one, err := New(f.shardConfig(1, 2), Options{})
	must(t, err)
	cp, err := send.EncodeCheckpoint(send.Identity{Size: 1, MTime: time.Unix(1, 0)}, false,
		&transfer.Checkpoint{Key: "rec/rec.ts", UploadID: *up.UploadId, PartSize: 5 << 20})
	must(t, err)
	must(t, one.db.PutCheckpoint("job", one.cfg.Jobs[0].Destinations[1].Name, "rec.ts", cp))
	tagOne := one.tag
	must(t, one.Close())

	zero, err := New(f.shardConfig(0, 2), Options{})
	must(t, err)
	if zero.tag == tagOne {
		t.Errorf("shards 0 and 1 share the temp-file tag %s", tagOne)
	}
	n, err := zero.GC(ctx)
	must(t, zero.Close())
	must(t, err)
	if n != 0 {
		t.Errorf("gc of shard 0/2 removed %d", n)
	}
	ups, err := cl.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	must(t, err)
	if len(ups.Uploads) != 1 {
		t.Fatalf("after shard 0's gc, uploads %+v; want shard 1's", ups.Uploads)
	}

	one, err = New(f.shardConfig(1, 2), Options{})
	must(t, err)
	n, err = one.GC(ctx)
	must(t, one.Close())
	must(t, err)
	ups, err = cl.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	must(t, err)
	if n != 1 || len(ups.Uploads) != 0 {
		t.Errorf("gc of shard 1/2 removed %d and left %+v; want its stale upload aborted", n, ups.Uploads)
	}
}
