package agent

import (
	"bytes"
	"context"
	"github.com/efssync/efssync/agent/send"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/efssync/efssync/internal/treetest"
	"github.com/efssync/efssync/transfer"
)

// TestGCDryRunChangesNothing: gc --dry-run lists the stale S3 upload and
// the fs temp file a real gc would remove, and leaves both, and the
// checkpoint, in place; the real gc then still removes both.
func TestGCDryRunChangesNothing(t *testing.T) {
	f, srv, bucket := s3Fixture(t, 1)
	cl := srv.Client()
	ctx := context.Background()
	treetest.Write(t, f.src, map[string]string{"rec.ts": "recording"})
	mine, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("rec/rec.ts")})
	must(t, err)

	// A checkpoint of a crashed run, for a version of rec.ts that is gone.
	a, err := New(f.config(), Options{})
	must(t, err)
	s3name := a.cfg.Jobs[0].Destinations[1].Name
	cp := &transfer.Checkpoint{Key: "rec/rec.ts", UploadID: *mine.UploadId, PartSize: 5 << 20}
	data, err := send.EncodeCheckpoint(send.Identity{Size: 1, MTime: time.Unix(1, 0)}, false, cp)
	must(t, err)
	must(t, a.db.PutCheckpoint("job", s3name, "rec.ts", data))
	ownTmp := filepath.Join(f.dests[0], "sub", ".efssync-tmp-"+a.tag+"-0123456789abcdef")
	a.Close()
	must(t, os.MkdirAll(filepath.Dir(ownTmp), 0o755))
	must(t, os.WriteFile(ownTmp, []byte("x"), 0o600))

	var plan bytes.Buffer
	a, err = New(f.config(), Options{DryRun: true, PlanOut: &plan})
	must(t, err)

	n, err := a.GC(ctx)
	must(t, err)
	if n != 2 {
		t.Errorf("dry-run gc counted %d, want 2", n)
	}
	for _, want := range []string{"rec/rec.ts", *mine.UploadId, ownTmp} {
		if !strings.Contains(plan.String(), want) {
			t.Errorf("dry-run gc output does not list %s:\n%s", want, plan.String())
		}
	}
	if got, err := a.db.GetCheckpoint("job", s3name, "rec.ts"); err != nil || got == nil {
		t.Errorf("dry-run gc forgot the checkpoint: %v, %v", got, err)
	}
	a.Close()
	if _, err := os.Stat(ownTmp); err != nil {
		t.Errorf("dry-run gc removed the temp file: %v", err)
	}
	ups, err := cl.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	must(t, err)
	if len(ups.Uploads) != 1 {
		t.Fatalf("uploads after dry-run gc: %d, want the stale one still there", len(ups.Uploads))
	}

	a, err = New(f.config(), Options{})
	must(t, err)
	n, err = a.GC(ctx)
	a.Close()
	must(t, err)
	if n != 2 {
		t.Errorf("real gc after the dry run removed %d, want 2", n)
	}
	ups, err = cl.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	must(t, err)
	if len(ups.Uploads) != 0 {
		t.Errorf("real gc left %d uploads", len(ups.Uploads))
	}
}
