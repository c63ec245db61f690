// Package s3dest is the S3 destination: files are published as objects under
// a bucket and prefix, large ones as multipart uploads that survive a crash of
// the agent (see Upload.Checkpoint), small ones as a single PutObject.
//
// # Metadata
//
// Every object carries the source's mtime (RFC 3339 with nanoseconds), mode
// (octal permission bits) and BLAKE3 (hex), so Stat can tell whether a copy
// is current without reading it back. S3 fixes user metadata
// (x-amz-meta-*) when an object is created, which for a multipart upload is
// CreateMultipartUpload — before any byte is read, so before the hash exists.
// Two ways round that were weighed:
//
//   - a server-side CopyObject onto itself with MetadataDirective REPLACE
//     after completion: it rewrites the whole object (minutes for a large
//     recording), is limited to 5 GiB per copy, and briefly leaves the object
//     without the final metadata anyway;
//   - object tags set by PutObjectTagging after CompleteMultipartUpload: one
//     small request whatever the size.
//
// A file that is finished before its upload starts needs neither: the
// agent hashes it first and passes the hash in Begin's Meta, and
// CreateMultipartUpload sets x-amz-meta-blake3, -mtime and -mode like a
// PutObject does, so a restore gets them from the GET response. Commit then
// refuses to publish if the hash, mtime or mode at Commit differ (the file
// changed after it was hashed).
//
// For an upload that starts while the file still grows, s3dest uses tags. A
// single-PutObject file gets x-amz-meta-blake3, -mtime and -mode directly. A
// multipart upload without a hash at Begin gets -mtime and -mode from
// Begin's Meta at creation, and after completion the tags efssync-blake3,
// efssync-mtime and efssync-mode (from Commit's Meta) are written together
// with the configured tags. Stat reads the user metadata and, when it lacks a
// hash, the tags, which win. The cost: S3 allows 10 tags per object, so at
// most 7 configured tags; and a crash between completion and tagging leaves
// an object whose Stat has no hash, which the agent treats as unverified and
// sends again.
package s3dest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/s3client"
)

// Size limits of S3 multipart uploads.
const (
	MinPartSize     = 5 << 20
	MaxPartSize     = 5 << 30
	DefaultPartSize = 16 << 20
	maxParts        = 10000
	maxKeyLen       = 1024
	maxUserTags     = 7 // S3's 10 per object, less the three efssync tags
)

// tagPrefix starts the names of the tags efssync writes.
const tagPrefix = s3client.TagPrefix

// Options configures a Dest. Zero values mean the documented defaults.
type Options struct {
	// Name identifies the destination; default "s3://bucket/prefix".
	Name   string
	Bucket string
	// Prefix is prepended to every relative path with one "/".
	Prefix string
	// Region defaults to the SDK's configuration, then us-east-1.
	Region string
	// Endpoint overrides the S3 endpoint (MinIO, other S3-compatible stores).
	Endpoint string
	// PathStyle addresses buckets as endpoint/bucket instead of a host name.
	PathStyle bool
	// StorageClass, e.g. STANDARD, STANDARD_IA, REDUCED_REDUNDANCY.
	StorageClass string
	// SSE is the server-side encryption, "AES256" or "aws:kms".
	SSE string
	// KMSKeyID selects the KMS key when SSE is aws:kms.
	KMSKeyID string
	// Tags are set on every object (at most 7).
	Tags map[string]string
	// PartSize is the multipart part size, default 16 MiB, at least 5 MiB.
	// A file smaller than one part is sent with a single PutObject.
	PartSize int64
	// PartConcurrency is how many parts of PartSize one file has in flight
	// at once, default 4: PartSize × PartConcurrency bytes. A file that
	// would be cut into fewer than 2×PartConcurrency parts is cut into
	// smaller ones (at least 5 MiB), more of them in flight within the same
	// bytes, so a mid-sized file moves on more connections (see partPlan).
	// An upload holds at most one part buffer more than it has in flight.
	PartConcurrency int
	// Concurrency is how many files the caller uploads at once (the job's
	// concurrency). It sizes the pool of idle keep-alive connections: a
	// pool smaller than the requests in flight closes a connection after
	// nearly every request and dials a new one for the next, which costs
	// both ends a TCP handshake and the server a fresh connection each
	// time. Zero means one file.
	Concurrency int
	// MaxInFlight bounds the requests waiting for S3 at once, below which
	// the adaptive window of transfer/s3client moves. Zero means
	// Concurrency × PartConcurrency (the keep-alive pool); negative sends
	// every request as soon as it is made, with no window.
	MaxInFlight int
	// Credentials overrides the SDK's default credential chain (tests).
	Credentials aws.CredentialsProvider
	// Log receives the SDK's own log lines; nil means slog's default.
	Log *slog.Logger
	// WrapTransport, when set, wraps the HTTP transport, e.g. to count
	// requests. Stall detection stays underneath it.
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// MaxAttempts is how often the SDK tries one request, default 10. The
	// SDK's retryer is the one retry owner of an S3 destination: the
	// agent's retry decorator tries S3 operations once and only counts
	// their failures, to mark a dead endpoint down for the run.
	MaxAttempts int
	// MaxBackoff caps the SDK's backoff between attempts, default 30s, long
	// enough to ride out a short outage during a long upload.
	MaxBackoff time.Duration
	// StallTimeout fails a connection that moves no byte in either
	// direction for this long, default 60s. It bounds a hung request
	// without limiting how long a slow but moving part upload may take.
	StallTimeout time.Duration
}

// Dest is an S3 bucket and prefix as a transfer.Destination. It also
// implements transfer.Lister, transfer.Opener and transfer.Cleaner.
type Dest struct {
	name     string
	bucket   string
	prefix   string // without leading or trailing "/"
	opts     Options
	client   *s3.Client
	pools    partPools
	tagValue string // URL-encoded configured tags for the Tagging header
	bucketOK atomic.Bool
	// metaKept: an object this Dest published was read back with its
	// metadata as sent (see VerifiesCommit).
	metaKept atomic.Bool
	metaMu   sync.Mutex // one such read back at a time
}

// New builds a Dest. It makes no request: a wrong bucket or credentials
// show up as a transfer.Fatal error from the first operation.
func New(ctx context.Context, opts Options) (*Dest, error) {
	if opts.Bucket == "" {
		return nil, errors.New("s3dest: bucket is required")
	}
	if opts.PartSize == 0 {
		opts.PartSize = DefaultPartSize
	}
	if opts.PartSize < MinPartSize || opts.PartSize > MaxPartSize {
		return nil, fmt.Errorf("s3dest: s3://%s: part size %d outside [%d, %d]", opts.Bucket, opts.PartSize, MinPartSize, int64(MaxPartSize))
	}
	if opts.PartConcurrency <= 0 {
		opts.PartConcurrency = 4
	}
	if len(opts.Tags) > maxUserTags {
		return nil, fmt.Errorf("s3dest: s3://%s: %d tags configured, at most %d (S3 allows 10, efssync uses 3)", opts.Bucket, len(opts.Tags), maxUserTags)
	}
	for k, v := range opts.Tags {
		if strings.HasPrefix(k, tagPrefix) {
			return nil, fmt.Errorf("s3dest: s3://%s: tag %q: the %s prefix is reserved", opts.Bucket, k, tagPrefix)
		}
		if k == "" || len(k) > 128 || len(v) > 256 || !validTagText(k) || !validTagText(v) {
			return nil, fmt.Errorf("s3dest: s3://%s: tag %q=%q: S3 allows keys up to 128 and values up to 256 characters of letters, digits, spaces and + - = . _ : / @", opts.Bucket, k, v)
		}
	}

	client, err := s3client.New(ctx, "s3dest: s3://"+opts.Bucket, s3client.Options{
		Region: opts.Region, Endpoint: opts.Endpoint, PathStyle: opts.PathStyle,
		Credentials: opts.Credentials, WrapTransport: opts.WrapTransport,
		MaxAttempts: opts.MaxAttempts, MaxBackoff: opts.MaxBackoff, StallTimeout: opts.StallTimeout,
		IdleConns: idleConns(opts), MaxInFlight: cmp.Or(opts.MaxInFlight, idleConns(opts)), Log: opts.Log,
	})
	if err != nil {
		return nil, err
	}

	d := &Dest{
		bucket: opts.Bucket,
		prefix: strings.Trim(opts.Prefix, "/"),
		opts:   opts,
		client: client,
	}
	d.name = opts.Name
	if d.name == "" {
		d.name = "s3://" + d.bucket + "/" + d.prefix
	}
	if len(opts.Tags) > 0 {
		v := url.Values{}
		for k, val := range opts.Tags {
			v.Set(k, val)
		}
		d.tagValue = v.Encode()
	}
	return d, nil
}

// idleConns is how many idle connections to keep for the endpoint: one per
// request that can be in flight, so that every request finds the
// connection an earlier one released. A file has one request in flight,
// a large one up to PartConcurrency parts, so the bound is Concurrency ×
// PartConcurrency (256 with the defaults), and never less than the
// 2×PartConcurrency a single upload always had.
func idleConns(opts Options) int {
	return max(opts.Concurrency*opts.PartConcurrency, 2*opts.PartConcurrency)
}

// Name reports the destination's name.
func (d *Dest) Name() string { return d.name }

// Key returns the object key for rel, or an error naming rel when S3 cannot
// store it (not UTF-8, longer than 1024 bytes).
func (d *Dest) Key(rel string) (string, error) {
	if rel == "" || rel == "." || strings.HasPrefix(rel, "/") || path.Clean(rel) != rel || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("s3dest: s3://%s: invalid relative path %q", d.bucket, rel)
	}
	k := rel
	if d.prefix != "" {
		k = d.prefix + "/" + rel
	}
	if !utf8.ValidString(k) {
		return "", fmt.Errorf("s3dest: s3://%s: %q: object keys must be valid UTF-8", d.bucket, rel)
	}
	if len(k) > maxKeyLen {
		return "", fmt.Errorf("s3dest: s3://%s: %s: key is %d bytes, S3 allows at most %d", d.bucket, rel, len(k), maxKeyLen)
	}
	return k, nil
}

// listPrefix is what every key of this destination starts with.
func (d *Dest) listPrefix() string {
	if d.prefix == "" {
		return ""
	}
	return d.prefix + "/"
}

// Begin starts an upload of rel. Nothing is sent until a part fills or
// Commit. With resume, the multipart upload it names is continued: ListParts
// confirms which checkpointed parts the server holds (same ETag and size),
// and Writes covering them are discarded instead of sent again. A resume
// whose upload is gone (NoSuchUpload, or aborted by Cleanup) or whose key
// differs starts afresh. Whether the checkpoint belongs to the same source
// version is for the caller to decide.
//
// ctx bounds the whole upload, including parts sent in the background.
func (d *Dest) Begin(ctx context.Context, rel string, m transfer.Meta, resume *transfer.Checkpoint) (transfer.Upload, error) {
	key, err := d.Key(rel)
	if err != nil {
		return nil, err
	}
	u := newUpload(ctx, d, key, m)
	if resume != nil && resume.UploadID != "" && resume.Key == key && resume.PartSize >= MinPartSize && resume.PartSize <= MaxPartSize {
		if err := u.resume(ctx, resume); err != nil {
			u.cancel()
			return nil, err
		}
	}
	return u, nil
}

var _ transfer.Destination = (*Dest)(nil)

var _ transfer.Lister = (*Dest)(nil)

var _ transfer.Opener = (*Dest)(nil)

var _ transfer.Cleaner = (*Dest)(nil)
