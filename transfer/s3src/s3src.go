// Package s3src is S3 as the source of a restore: it lists the objects
// under a bucket and prefix (the newest versions, or those current at a
// point in time) and reads each one back for the sender, as one GET when
// it is small and as parallel ranged GETs when it is large, verifying the
// checksums S3 keeps and returning the metadata efssync stored with it.
//
// It knows nothing of jobs or the manifest: the agent plans from the
// listing (size, ETag, LastModified), hands each object to Open, writes the
// chunks into an fs destination's upload, and persists a Checkpoint to
// resume a large object after a crash.
package s3src

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/semaphore"

	"github.com/efssync/efssync/transfer/s3client"
)

// Defaults of Options.
const (
	DefaultPartSize         = 16 << 20
	DefaultPartConcurrency  = 4
	DefaultListConcurrency  = 8
	MinPartSize             = 1 << 20
	minRange                = 4 << 20 // smallest range Split cuts a large object into
	MaxPartSize             = 1 << 30
	defaultListBuffer       = 1000
	defaultBodyReadAttempts = 5
)

// Options configures a Source. Zero values mean the documented defaults.
type Options struct {
	Bucket string
	// Prefix selects the keys below it; a missing trailing "/" is added,
	// so "media" never matches "media-old/".
	Prefix string
	// AsOf, when not zero, lists the versions that were current at that
	// time (ListObjectVersions) instead of the newest ones.
	AsOf time.Time
	// PartSize is the size of one ranged GET of a large object that was
	// not uploaded in parts, default 16 MiB. An object no larger is read
	// with a single GET.
	PartSize int64
	// PartConcurrency is how many GETs of one object run at once, default
	// 4. A Reader holds at most that many buffers.
	PartConcurrency int
	// ListConcurrency is how many prefixes are listed at once, default 8.
	ListConcurrency int
	// Concurrency is how many objects the caller reads at once; it sizes
	// the keep-alive pool. Zero means one.
	Concurrency int
	// MaxBuffered bounds the bytes of object data that all Readers of this
	// Source hold at once (fetched ahead or not yet released), so many
	// large objects in flight cannot exhaust memory. It must be at least
	// the largest part read. Zero: no bound across Readers, each holding
	// up to PartConcurrency parts.
	MaxBuffered int64
	// Client is the endpoint, credentials, retries and stall timeout, as
	// for an S3 destination. Its MaxAttempts (default 10) also bounds how
	// often a Reader continues a body that broke off, with backoff up to
	// its MaxBackoff (default 30s). IdleConns is computed here.
	Client s3client.Options
}

// Source is an S3 bucket and prefix read by a restore.
type Source struct {
	bucket string
	prefix string // "" or ending in "/"
	opts   Options
	client *s3.Client
	budget *semaphore.Weighted // nil without MaxBuffered
	parts  []*partBufs         // unit buffers by size, see partBuf
}

// New builds a Source. It makes no request.
func New(ctx context.Context, opts Options) (*Source, error) {
	if opts.Bucket == "" {
		return nil, errors.New("s3src: bucket is required")
	}
	if opts.PartSize == 0 {
		opts.PartSize = DefaultPartSize
	}
	if opts.PartSize < MinPartSize || opts.PartSize > MaxPartSize {
		return nil, fmt.Errorf("s3src: s3://%s: part size %d outside [%d, %d]", opts.Bucket, opts.PartSize, MinPartSize, MaxPartSize)
	}
	if opts.PartConcurrency <= 0 {
		opts.PartConcurrency = DefaultPartConcurrency
	}
	if opts.ListConcurrency <= 0 {
		opts.ListConcurrency = DefaultListConcurrency
	}
	if opts.Client.MaxAttempts <= 0 {
		opts.Client.MaxAttempts = 10
	}
	if opts.Client.MaxBackoff <= 0 {
		opts.Client.MaxBackoff = 30 * time.Second
	}
	copts := opts.Client
	copts.IdleConns = max(opts.Concurrency, 1)*opts.PartConcurrency + opts.ListConcurrency
	copts.MaxInFlight = copts.IdleConns
	client, err := s3client.New(ctx, "s3src: s3://"+opts.Bucket, copts)
	if err != nil {
		return nil, err
	}
	prefix := strings.TrimLeft(opts.Prefix, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	src := &Source{bucket: opts.Bucket, prefix: prefix, opts: opts, client: client}
	// Keep as many buffers as can be in use at once; fewer are kept when
	// fewer were used (MaxBuffered, small objects).
	src.parts = newPartClasses(src, int(opts.PartSize), max(opts.Concurrency, 1)*opts.PartConcurrency)
	if opts.MaxBuffered > 0 {
		src.budget = semaphore.NewWeighted(opts.MaxBuffered)
	}
	return src, nil
}

// Name is s3://bucket/prefix, for logs and reports.
func (s *Source) Name() string { return "s3://" + s.bucket + "/" + s.prefix }

// Key is the object key of a relative path, the inverse of RelPath.
func (s *Source) Key(rel string) string { return s.prefix + rel }

func (s *Source) wrap(key, op string, err error) error {
	return s3client.Wrap(s.bucket, key, op, err)
}

// reserve takes n bytes of the MaxBuffered budget, waiting for Readers to
// release theirs. A part larger than the whole budget is an error, not a
// wait that could never end.
func (s *Source) reserve(ctx context.Context, key string, n int64) error {
	if s.budget == nil {
		return nil
	}
	if n > s.opts.MaxBuffered {
		return fmt.Errorf("s3://%s/%s: a part of %d bytes is larger than max_buffered (%d)", s.bucket, key, n, s.opts.MaxBuffered)
	}
	return s.budget.Acquire(ctx, n)
}

// unreserve gives n bytes of the budget back.
func (s *Source) unreserve(n int64) {
	if s.budget != nil {
		s.budget.Release(n)
	}
}
