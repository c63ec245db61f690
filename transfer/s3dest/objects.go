package s3dest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/s3client"
)

// Stat reports the object's size and efssync metadata, falling back to
// LastModified for the mtime of objects efssync did not write.
func (d *Dest) Stat(ctx context.Context, rel string) (transfer.Meta, error) {
	key, err := d.Key(rel)
	if err != nil {
		return transfer.Meta{}, err
	}
	return d.statKey(ctx, key)
}

// statKey is Stat of an object key.
func (d *Dest) statKey(ctx context.Context, key string) (transfer.Meta, error) {
	out, err := d.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &d.bucket, Key: &key})
	if err != nil {
		werr := d.wrap(key, "head", err)
		if errors.Is(werr, fs.ErrNotExist) {
			if berr := d.checkBucket(ctx); berr != nil {
				return transfer.Meta{}, berr
			}
		}
		return transfer.Meta{}, werr
	}
	m := transfer.Meta{
		Size:    aws.ToInt64(out.ContentLength),
		Mode:    0o644,
		ModTime: aws.ToTime(out.LastModified),
		UID:     -1,
		GID:     -1,
	}
	vals := map[string]string{}
	for k, v := range out.Metadata {
		vals[strings.ToLower(k)] = v
	}
	if vals[s3client.MetaHash] == "" {
		tags, err := d.client.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: &d.bucket, Key: &key})
		if err != nil {
			return transfer.Meta{}, d.wrap(key, "get tags", err)
		}
		for _, t := range tags.TagSet {
			if k, ok := strings.CutPrefix(aws.ToString(t.Key), tagPrefix); ok {
				vals[k] = aws.ToString(t.Value)
			}
		}
	}
	if err := s3client.DecodeMeta(vals, &m); err != nil {
		return transfer.Meta{}, fmt.Errorf("s3://%s/%s: %w", d.bucket, key, err)
	}
	return m, nil
}

// checkBucket tells a missing object from a missing bucket, which a HEAD
// response (no body, no error code) does not. It asks once per Dest.
func (d *Dest) checkBucket(ctx context.Context) error {
	if d.bucketOK.Load() {
		return nil
	}
	_, err := d.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &d.bucket})
	if err == nil {
		d.bucketOK.Store(true)
		return nil
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound {
		return transfer.Fatal(fmt.Errorf("s3://%s: head bucket: NoSuchBucket: %w", d.bucket, err))
	}
	return d.wrap("", "head bucket", err)
}

// Remove deletes rel's object; a missing object is not an error.
func (d *Dest) Remove(ctx context.Context, rel string) error {
	key, err := d.Key(rel)
	if err != nil {
		return err
	}
	if _, err := d.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &d.bucket, Key: &key}); err != nil {
		return d.wrap(key, "delete", err)
	}
	return nil
}

// List calls fn for every object under the prefix. It reports Size and
// LastModified as ModTime only (a listing carries no user metadata); Stat
// gives the efssync metadata of one object.
func (d *Dest) List(ctx context.Context, fn func(rel string, m transfer.Meta) error) error {
	lp := d.listPrefix()
	p := s3.NewListObjectsV2Paginator(d.client, &s3.ListObjectsV2Input{Bucket: &d.bucket, Prefix: aws.String(lp)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return d.wrap(lp, "list", err)
		}
		for _, o := range page.Contents {
			rel := strings.TrimPrefix(aws.ToString(o.Key), lp)
			if rel == "" || strings.HasSuffix(rel, "/") {
				continue // directory markers made by other tools
			}
			m := transfer.Meta{Size: aws.ToInt64(o.Size), Mode: 0o644, ModTime: aws.ToTime(o.LastModified), UID: -1, GID: -1}
			if err := fn(rel, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// EmptyDir reports whether no object is stored below the directory rel
// (one ListObjectsV2 of at most one key). The agent asks before the first
// copy of a directory's files, so that an empty prefix costs one request
// per directory instead of a HEAD per file to look for an object to adopt.
func (d *Dest) EmptyDir(ctx context.Context, rel string) (bool, error) {
	below := d.listPrefix() // "." is the root: the whole prefix
	if rel != "." {
		key, err := d.Key(rel)
		if err != nil {
			return false, err
		}
		below = key + "/"
	}
	out, err := d.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &d.bucket, Prefix: aws.String(below), MaxKeys: aws.Int32(1)})
	if err != nil {
		return false, d.wrap(below, "list", err)
	}
	return len(out.Contents) == 0, nil
}

// Open streams rel's content back, for verification.
func (d *Dest) Open(ctx context.Context, rel string) (io.ReadCloser, error) {
	key, err := d.Key(rel)
	if err != nil {
		return nil, err
	}
	out, err := d.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &d.bucket, Key: &key})
	if err != nil {
		return nil, d.wrap(key, "get", err)
	}
	return out.Body, nil
}
