// Package s3client builds the S3 client that both directions share: the S3
// destination (transfer/s3dest) and the S3 source of a restore
// (transfer/s3src). One place decides the credential chain, the retry
// policy of a long-running agent, stall detection per connection, the size
// of the keep-alive pool, and how S3 errors are classified for the retry
// decorator, so an archive and its restore behave alike.
package s3client

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Options configures a client. Zero values mean the documented defaults.
type Options struct {
	// Region defaults to the SDK's configuration, then us-east-1.
	Region string
	// Endpoint overrides the S3 endpoint (MinIO, other S3-compatible stores).
	Endpoint string
	// PathStyle addresses buckets as endpoint/bucket instead of a host name.
	PathStyle bool
	// Credentials overrides the SDK's default credential chain (tests).
	Credentials aws.CredentialsProvider
	// WrapTransport, when set, wraps the HTTP transport, e.g. to count
	// requests. Stall detection stays underneath it.
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// MaxAttempts is how often the SDK tries one request, default 10.
	MaxAttempts int
	// MaxBackoff caps the SDK's backoff between attempts, default 30s, long
	// enough to ride out a short outage during a long transfer.
	MaxBackoff time.Duration
	// StallTimeout fails a connection that moves no byte in either
	// direction for this long, default 60s. It bounds a hung request
	// without limiting how long a slow but moving transfer may take.
	StallTimeout time.Duration
	// IdleConns is how many idle keep-alive connections to keep for the
	// endpoint: one per request the caller may have in flight. A pool
	// smaller than that closes a connection after nearly every request
	// and dials a new one for the next.
	IdleConns int
	// MaxInFlight, when positive, bounds the requests waiting for S3 at
	// once; below it, a window adapts to the latency of the answers (see
	// window). Zero sends every request at once, as the caller makes them.
	// Request bodies over 1 MiB (multipart parts) are not counted: they
	// are bounded by the caller's part concurrency and limited by the link.
	MaxInFlight int
	// Log receives the SDK's own log lines; nil means slog's default.
	Log *slog.Logger
}

// New builds a client. It makes no request. what names the bucket in
// errors ("s3://bucket").
func New(ctx context.Context, what string, opts Options) (*s3.Client, error) {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 10
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.StallTimeout <= 0 {
		opts.StallTimeout = 60 * time.Second
	}
	loadOpts := []func(*config.LoadOptions) error{config.WithLogger(sdkLogger{opts.Log})}
	if opts.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(opts.Region))
	}
	if opts.Credentials != nil {
		loadOpts = append(loadOpts, config.WithCredentialsProvider(opts.Credentials))
	}
	attempts, backoff := opts.MaxAttempts, opts.MaxBackoff
	loadOpts = append(loadOpts, config.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			o.MaxBackoff = backoff
			// The default token bucket gives up on retries after a burst
			// of failures; a long-running agent must keep trying.
			o.RateLimiter = ratelimit.None
		})
	}))
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("%s: loading AWS configuration: %w", what, err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	httpClient := newHTTPClient(cfg.HTTPClient, opts)
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		o.UsePathStyle = opts.PathStyle
		o.HTTPClient = httpClient
		// Whole-object checksums of multipart objects are composite and
		// cannot be validated on GetObject; the SDK would warn every time.
		o.DisableLogOutputChecksumValidationSkipped = true
		o.APIOptions = append(o.APIOptions, dropDiagnosticHeaders)
	}), nil
}

// newHTTPClient keeps the SDK's transport settings (proxy, custom CA bundle)
// and adds stall detection to every connection and, with MaxInFlight, the
// adaptive window of requests in flight.
func newHTTPClient(base aws.HTTPClient, opts Options) *http.Client {
	var tr *http.Transport
	if bc, ok := base.(*awshttp.BuildableClient); ok {
		tr = bc.GetTransport()
	} else {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	tr.DialContext = stallDialer(tr.DialContext, opts.StallTimeout)
	if n := opts.IdleConns; tr.MaxIdleConnsPerHost < n {
		tr.MaxIdleConnsPerHost = n
		if tr.MaxIdleConns != 0 && tr.MaxIdleConns < n {
			tr.MaxIdleConns = n
		}
	}
	var rt http.RoundTripper = tr
	if opts.WrapTransport != nil {
		rt = opts.WrapTransport(rt)
	}
	if opts.MaxInFlight > 0 {
		rt = newGate(rt, opts.MaxInFlight)
	}
	return &http.Client{Transport: rt}
}
