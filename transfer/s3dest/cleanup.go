package s3dest

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Cleanup aborts unfinished multipart uploads under this destination's
// prefix (and only there) whose upload ID keep does not claim.
//
// MinIO lists multipart uploads only for an exact key or for the whole
// bucket, so when a prefixed listing finds nothing the whole bucket is
// listed and filtered here; uploads are short-lived, so that list is small.
func (d *Dest) Cleanup(ctx context.Context, keep func(uploadID string) bool) (int, error) {
	lp := d.listPrefix()
	removed, seen, err := d.cleanup(ctx, lp, keep)
	if err != nil || seen > 0 || lp == "" {
		return removed, err
	}
	removed, _, err = d.cleanup(ctx, "", keep)
	return removed, err
}

// cleanup lists uploads whose keys start with listPrefix and aborts those
// under the destination's prefix that keep does not claim. seen counts the
// uploads the listing returned.
func (d *Dest) cleanup(ctx context.Context, listPrefix string, keep func(uploadID string) bool) (removed, seen int, err error) {
	lp := d.listPrefix()
	in := &s3.ListMultipartUploadsInput{Bucket: &d.bucket, Prefix: aws.String(listPrefix)}
	for {
		page, err := d.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return removed, seen, d.wrap(lp, "list multipart uploads", err)
		}
		seen += len(page.Uploads)
		for _, up := range page.Uploads {
			key, id := aws.ToString(up.Key), aws.ToString(up.UploadId)
			if !strings.HasPrefix(key, lp) || keep(id) {
				continue
			}
			_, err := d.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &d.bucket, Key: &key, UploadId: &id})
			if err != nil && !isNoSuchUpload(err) {
				return removed, seen, d.wrap(key, "abort multipart upload", err)
			}
			removed++
		}
		if !aws.ToBool(page.IsTruncated) {
			return removed, seen, nil
		}
		in.KeyMarker, in.UploadIdMarker = page.NextKeyMarker, page.NextUploadIdMarker
	}
}
