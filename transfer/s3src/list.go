package s3src

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
)

// Object is one listed object: what the agent plans with (size, ETag and
// LastModified are recorded in the manifest, so an unchanged object costs
// nothing beyond the listing) and what Open reads.
type Object struct {
	// Key is the full object key; Rel the relative path it restores to.
	Key string
	Rel string
	// Err is set (wrapping ErrBadKey, naming the key) when the key cannot
	// be a file name; Rel is then empty. It concerns this object only.
	Err          error
	Size         int64
	ETag         string // without quotes
	LastModified time.Time
	// StorageClass is as listed ("STANDARD", "GLACIER", ...); see Archived.
	StorageClass string
	// VersionID is the version to read; set when listing AsOf.
	VersionID string
	// Dir marks a folder marker: a key ending in "/" (made by consoles and
	// other tools for an empty directory). Rel is then the directory.
	Dir bool
}

// List sends every object below the prefix to out and closes out when done.
// Objects come in no particular order. Prefixes are listed in parallel
// (ListConcurrency), split at "/" (delimiter fan-out): memory holds the
// prefixes still to list and one page per lister, never the whole listing,
// so 10 million objects cost what their directories cost. With AsOf the
// versions current at that time are listed instead (see listVersions).
//
// The caller must drain out or cancel ctx. An error (after the SDK's
// retries) stops the listing: the caller must not treat what it received
// as the whole tree, e.g. for deletes.
func (s *Source) List(ctx context.Context, out chan<- Object) error {
	defer close(out)
	g, ctx := errgroup.WithContext(ctx)
	q := newPrefixQueue(s.prefix)
	for range s.opts.ListConcurrency {
		g.Go(func() error {
			for {
				p, ok := q.pop()
				if !ok {
					return nil
				}
				var err error
				if s.opts.AsOf.IsZero() {
					err = s.listPrefix(ctx, p, q, out)
				} else {
					err = s.listVersions(ctx, p, q, out)
				}
				if err != nil {
					q.abort()
					return err
				}
				q.done()
			}
		})
	}
	return g.Wait()
}

// listPrefix lists the objects directly below p and queues its
// sub-prefixes.
func (s *Source) listPrefix(ctx context.Context, p string, q *prefixQueue, out chan<- Object) error {
	in := &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(p), Delimiter: aws.String("/"),
		EncodingType: types.EncodingTypeUrl}
	pages := s3.NewListObjectsV2Paginator(s.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return s.wrap(p, "list", err)
		}
		for _, cp := range page.CommonPrefixes {
			if err := s.pushPrefix(ctx, q, aws.ToString(cp.Prefix), out); err != nil {
				return err
			}
		}
		for _, o := range page.Contents {
			key, err := decodeKey(aws.ToString(o.Key))
			if err != nil {
				if err := send(ctx, out, Object{Key: aws.ToString(o.Key), Err: err}); err != nil {
					return err
				}
				continue
			}
			obj, ok := s.object(key, aws.ToInt64(o.Size), aws.ToString(o.ETag), aws.ToTime(o.LastModified), string(o.StorageClass), "")
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

// object builds a listed Object; ok is false for the prefix's own marker
// and for keys ending in more than one "/". A folder marker ("dir/") is an
// Object with Dir set, so that its directory is restored even when empty.
func (s *Source) object(key string, size int64, etag string, mod time.Time, class, version string) (Object, bool) {
	rel, ok, err := RelPath(s.prefix, key)
	if !ok && err == nil {
		dir, isDir := strings.CutSuffix(key, "/")
		if !isDir || len(dir) <= len(s.prefix) {
			return Object{}, false
		}
		if rel, ok, err = RelPath(s.prefix, dir); !ok && err == nil {
			return Object{}, false
		}
		return Object{Key: key, Rel: rel, Err: err, Dir: true, LastModified: mod, VersionID: version}, true
	}
	if class == "" {
		class = "STANDARD"
	}
	return Object{Key: key, Rel: rel, Err: err, Size: size, ETag: strings.Trim(etag, `"`),
		LastModified: mod, StorageClass: class, VersionID: version}, true
}

// decodeKey undoes the URL encoding the listings ask for (EncodingType
// url): without it, one key holding a character XML 1.0 cannot carry (a
// control character) makes the whole page unreadable, so every object of
// the listing would be lost for that one key. A key that does not decode
// is an error for its object only, wrapping ErrBadKey.
func decodeKey(enc string) (string, error) {
	key, err := url.QueryUnescape(enc)
	if err != nil {
		return "", fmt.Errorf("s3 key %q (as listed, URL-encoded): %w: %w", enc, ErrBadKey, err)
	}
	return key, nil
}

// pushPrefix queues a listed (URL-encoded) common prefix; one that does not
// decode is sent as a failed object, and the listing goes on without it.
func (s *Source) pushPrefix(ctx context.Context, q *prefixQueue, enc string, out chan<- Object) error {
	p, err := decodeKey(enc)
	if err != nil {
		return send(ctx, out, Object{Key: enc, Err: err})
	}
	q.push(p)
	return nil
}

func send(ctx context.Context, out chan<- Object, o Object) error {
	select {
	case out <- o:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// prefixQueue holds the prefixes still to list and counts those being
// listed, so the listers know when the tree is done.
type prefixQueue struct {
	mu      sync.Mutex
	cond    *sync.Cond
	pending []string
	active  int
	stopped bool
}

func newPrefixQueue(root string) *prefixQueue {
	q := &prefixQueue{pending: []string{root}}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *prefixQueue) push(p string) {
	q.mu.Lock()
	q.pending = append(q.pending, p)
	q.mu.Unlock()
	q.cond.Signal()
}

// pop waits for a prefix; ok is false once nothing is pending or being
// listed (the tree is done), or after abort.
func (q *prefixQueue) pop() (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.pending) == 0 && q.active > 0 && !q.stopped {
		q.cond.Wait()
	}
	if q.stopped || len(q.pending) == 0 {
		return "", false
	}
	// Last in, first out: depth first keeps the pending list short.
	p := q.pending[len(q.pending)-1]
	q.pending = q.pending[:len(q.pending)-1]
	q.active++
	return p, true
}

// done ends the listing of one popped prefix.
func (q *prefixQueue) done() {
	q.mu.Lock()
	q.active--
	q.mu.Unlock()
	q.cond.Broadcast()
}

// abort wakes every waiting lister and makes them stop.
func (q *prefixQueue) abort() {
	q.mu.Lock()
	q.stopped = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// KeysBelow reports whether any object (a folder marker too) is below
// rel+"/": rel is then a directory of the tree. With it and IsKey a
// restore asks about the few paths it must decide after the pass, instead
// of keeping every listed key for them. It asks about the current
// objects, so a restore AsOf cannot use it.
func (s *Source) KeysBelow(ctx context.Context, rel string) (bool, error) {
	_, ok, err := s.firstKey(ctx, s.prefix+rel+"/")
	return ok, err
}

// IsKey reports whether rel is an object's key.
func (s *Source) IsKey(ctx context.Context, rel string) (bool, error) {
	key, ok, err := s.firstKey(ctx, s.prefix+rel)
	return ok && key == s.prefix+rel, err
}

// firstKey is the first key below p: an exact key p sorts before every
// other key that p starts.
func (s *Source) firstKey(ctx context.Context, p string) (string, bool, error) {
	out, err := s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(p),
		MaxKeys: aws.Int32(1), EncodingType: types.EncodingTypeUrl})
	if err != nil {
		return "", false, s.wrap(p, "list", err)
	}
	if len(out.Contents) == 0 {
		return "", false, nil
	}
	key, err := decodeKey(aws.ToString(out.Contents[0].Key))
	return key, err == nil, err
}
