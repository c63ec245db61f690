package s3src

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
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
	in := &s3.ListObjectVersionsInput{Bucket: &s.bucket, Prefix: aws.String(p), Delimiter: aws.String("/")}
	picker := &asOfPicker{asOf: s.opts.AsOf}
	pages := s3.NewListObjectVersionsPaginator(s.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return s.wrap(p, "list versions", err)
		}
		for _, cp := range page.CommonPrefixes {
			q.push(aws.ToString(cp.Prefix))
		}
		for _, v := range pageVersions(page) {
			v, ok := picker.pick(v)
			if !ok {
				continue
			}
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
