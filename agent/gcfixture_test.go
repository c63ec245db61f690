package agent

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/efssync/efssync/agent/send"
	"github.com/efssync/efssync/internal/treetest"
	"github.com/efssync/efssync/transfer"
)

// staleUpload is the set-up the gc tests share: an S3 fixture whose source
// holds rec.ts, and a multipart upload of rec/rec.ts in its bucket that an
// agent can claim (checkpoint) as its own for a version of rec.ts that is
// gone, which makes it an upload gc must abort.
type staleUpload struct {
	f      *fixture
	cl     *s3.Client
	bucket string
	id     string // the upload's id
}

func newStaleUpload(t *testing.T) *staleUpload {
	t.Helper()
	f, srv, bucket := s3Fixture(t, 1)
	cl := srv.Client()
	treetest.Write(t, f.src, map[string]string{"rec.ts": "recording"})
	up, err := cl.CreateMultipartUpload(context.Background(), &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("rec/rec.ts")})
	must(t, err)
	return &staleUpload{f: f, cl: cl, bucket: bucket, id: *up.UploadId}
}

// checkpoint records the upload in a's manifest as the checkpoint of a
// crashed run of rec.ts at the S3 destination, for a version that is gone.
func (s *staleUpload) checkpoint(t *testing.T, a *Agent) {
	t.Helper()
	cp, err := send.EncodeCheckpoint(send.Identity{Size: 1, MTime: time.Unix(1, 0)}, false,
		&transfer.Checkpoint{Key: "rec/rec.ts", UploadID: s.id, PartSize: 5 << 20})
	must(t, err)
	must(t, a.db.PutCheckpoint("job", a.cfg.Jobs[0].Destinations[1].Name, "rec.ts", cp))
}

// uploads lists the multipart uploads in flight in the bucket.
func (s *staleUpload) uploads(t *testing.T) []types.MultipartUpload {
	t.Helper()
	ups, err := s.cl.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(s.bucket)})
	must(t, err)
	return ups.Uploads
}
