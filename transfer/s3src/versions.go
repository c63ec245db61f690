package s3src

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// version is one entry of a ListObjectVersions page: an object version or a
// delete marker.
type version struct {
	key, id, etag, class string
	size                 int64
	mod                  time.Time
	deleted              bool
}

// asOfPicker chooses, for each key, the version that was current at asOf:
// the newest one not younger than asOf. Entries arrive ordered by key and,
// within a key, newest first, possibly split across pages, so it keeps the
// key it is deciding between pages.
type asOfPicker struct {
	asOf    time.Time
	key     string
	decided bool
}

// pick returns the version to restore for v's key, if v decides it. A key
// whose current entry at asOf is a delete marker, or that did not exist
// yet, gives nothing.
func (p *asOfPicker) pick(v version) (version, bool) {
	if v.key != p.key {
		p.key, p.decided = v.key, false
	}
	if p.decided || v.mod.After(p.asOf) {
		return version{}, false
	}
	p.decided = true
	return v, !v.deleted
}

// listVersions lists the versions below p that were current at AsOf and
// queues p's sub-prefixes.
func (s *Source) listVersions(ctx context.Context, p string, q *prefixQueue, out chan<- Object) error {
	in := &s3.ListObjectVersionsInput{Bucket: &s.bucket, Prefix: aws.String(p), Delimiter: aws.String("/"),
		EncodingType: types.EncodingTypeUrl}
	picker := &asOfPicker{asOf: s.opts.AsOf}
	for more := true; more; {
		page, err := s.client.ListObjectVersions(ctx, in)
		if err != nil {
			return s.wrap(p, "list versions", err)
		}
		// The markers come URL-encoded too, and go back raw.
		more = aws.ToBool(page.IsTruncated)
		if more {
			if in.KeyMarker, in.VersionIdMarker, err = nextMarkers(page); err != nil {
				return s.wrap(p, "list versions", err)
			}
		}
		for _, cp := range page.CommonPrefixes {
			if err := s.pushPrefix(ctx, q, aws.ToString(cp.Prefix), out); err != nil {
				return err
			}
		}
		for _, v := range pageVersions(page) {
			v, ok := picker.pick(v)
			if !ok {
				continue
			}
			key, err := decodeKey(v.key)
			if err != nil {
				if err := send(ctx, out, Object{Key: v.key, Err: err}); err != nil {
					return err
				}
				continue
			}
			v.key = key
			obj, ok := s.object(v.key, v.size, v.etag, v.mod, v.class, v.id)
			if !ok {
				continue
			}
			if err := send(ctx, out, obj); err != nil {
				return err
			}
		}
	}
	return nil
}

// pageVersions merges a page's versions and delete markers by key, newest
// first within a key.
func pageVersions(page *s3.ListObjectVersionsOutput) []version {
	vs := make([]version, 0, len(page.Versions)+len(page.DeleteMarkers))
	for _, v := range page.Versions {
		vs = append(vs, version{key: aws.ToString(v.Key), id: aws.ToString(v.VersionId), etag: aws.ToString(v.ETag),
			class: string(v.StorageClass), size: aws.ToInt64(v.Size), mod: aws.ToTime(v.LastModified)})
	}
	for _, d := range page.DeleteMarkers {
		vs = append(vs, version{key: aws.ToString(d.Key), id: aws.ToString(d.VersionId), mod: aws.ToTime(d.LastModified), deleted: true})
	}
	slices.SortStableFunc(vs, func(a, b version) int {
		return cmp.Or(cmp.Compare(a.key, b.key), b.mod.Compare(a.mod))
	})
	return vs
}

// nextMarkers decodes where the next page of a URL-encoded version listing
// starts.
func nextMarkers(page *s3.ListObjectVersionsOutput) (key, version *string, err error) {
	k, err := decodeKey(aws.ToString(page.NextKeyMarker))
	if err != nil {
		return nil, nil, err
	}
	return aws.String(k), page.NextVersionIdMarker, nil
}
