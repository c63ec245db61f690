package s3client

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/efssync/efssync/transfer"
)

// fatalCodes are S3 error codes that no retry and no other file will fix:
// the bucket is unusable until someone changes the configuration.
var fatalCodes = map[string]bool{
	"AccessDenied":          true,
	"AllAccessDisabled":     true,
	"AccountProblem":        true,
	"InvalidAccessKeyId":    true,
	"InvalidBucketName":     true,
	"NoSuchBucket":          true,
	"SignatureDoesNotMatch": true,
	"InvalidStorageClass":   true,
	"KMS.DisabledException": true,
	"KMS.NotFoundException": true,
}

// retriableCodes are 4xx codes that mean "try again later".
var retriableCodes = map[string]bool{
	"RequestTimeout":             true,
	"RequestTimeTooSkewed":       true,
	"SlowDown":                   true,
	"Throttling":                 true,
	"ThrottlingException":        true,
	"TooManyRequests":            true,
	"RequestLimitExceeded":       true,
	"ExpiredToken":               true,
	"InternalError":              true,
	"ServiceUnavailable":         true,
	"XMinioServerNotInitialized": true,
}

// Wrap names the object and the operation, and classifies err for the retry
// decorator: Fatal for configuration problems, Retriable for what the SDK's
// own retries could not ride out (throttling, 5xx, broken or stalled
// connections), fs.ErrNotExist for a missing object, plain otherwise. The
// SDK's messages carry codes and request IDs, never credentials. A 404 of a
// HEAD (op "head") carries no code and counts as a missing object.
func Wrap(bucket, key, op string, err error) error {
	e := fmt.Errorf("s3://%s/%s: %s: %w", bucket, key, op, err)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return e
	}
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return fmt.Errorf("%w (%w)", e, fs.ErrNotExist)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		switch {
		case code == "InvalidObjectState":
			// A 403 about one object (archived, not restored), not the bucket.
			return e
		case fatalCodes[code]:
			return transfer.Fatal(e)
		case retriableCodes[code]:
			return transfer.Retriable(e)
		}
		var re *awshttp.ResponseError
		if errors.As(err, &re) {
			switch s := re.HTTPStatusCode(); {
			case s == 403:
				return transfer.Fatal(e)
			case s == 404 && op == "head":
				return fmt.Errorf("%w (%w)", e, fs.ErrNotExist)
			case s == 429 || s >= 500:
				return transfer.Retriable(e)
			}
		}
		return e
	}
	// No answer from S3 at all: a reset, a refused or stalled connection.
	return transfer.Retriable(e)
}
