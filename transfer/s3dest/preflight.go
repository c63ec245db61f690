package s3dest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/efssync/efssync/transfer"
)

// PreflightTimeout bounds Preflight: long enough for a credential provider
// that asks a metadata service, short enough that a down endpoint is one
// quick error at start instead of minutes of retries per file.
const PreflightTimeout = 15 * time.Second

// Preflight checks, once and without retries, that the destination can be
// used at all: that credentials can be found, the endpoint answers, the
// bucket exists and these credentials may use it. It returns one error that
// names the destination and says which of these failed, marked
// transfer.Fatal, so a run reports it once instead of once per file.
func (d *Dest) Preflight(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, PreflightTimeout)
	defer cancel()
	where := d.name
	if b := "s3://" + d.bucket; !strings.HasPrefix(where, b) {
		where += " (" + b + ")"
	}
	if ep := d.opts.Endpoint; ep != "" {
		where += " at " + ep
	}
	creds := d.client.Options().Credentials
	if creds == nil {
		return transfer.Fatal(fmt.Errorf("%s: no AWS credentials provider is configured", where))
	}
	if _, err := creds.Retrieve(ctx); err != nil {
		return transfer.Fatal(fmt.Errorf("%s: no usable AWS credentials (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or give the host a role): %w", where, err))
	}
	_, err := d.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &d.bucket}, func(o *s3.Options) {
		o.RetryMaxAttempts = 1
	})
	if err == nil {
		return nil
	}
	return transfer.Fatal(fmt.Errorf("%s: %s: %w", where, preflightCause(err), err))
}

// preflightCause says in words what a failed HeadBucket means.
func preflightCause(err error) string {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case 404:
			return "the bucket does not exist"
		case 403:
			return "access denied to the bucket (check the credentials and the bucket policy)"
		case 301, 400:
			return "the bucket is in another region or the request is malformed (check region and endpoint)"
		}
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchBucket", "NotFound":
			return "the bucket does not exist"
		case "AccessDenied", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch":
			return "access denied to the bucket (check the credentials and the bucket policy)"
		}
	}
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &oe) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return "the endpoint is unreachable"
	}
	return "the bucket cannot be used"
}
