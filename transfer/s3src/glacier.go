package s3src

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// Archived reports whether objects of a storage class must be restored
// (RestoreObject) before a GET can read them. GLACIER_IR (Instant
// Retrieval) reads like STANDARD.
func Archived(class string) bool {
	return class == string(types.StorageClassGlacier) || class == string(types.StorageClassDeepArchive)
}

// RestoreState is where an archived object stands.
type RestoreState int

// The states of an archived object, from HeadObject's Restore header.
const (
	// NotRestored: no restore was requested, or the restored copy expired.
	NotRestored RestoreState = iota
	// RestoreInProgress: requested, not available yet (minutes to 48 hours
	// depending on the class and tier).
	RestoreInProgress
	// Restored: a temporary copy is readable until it expires.
	Restored
)

// String names the state for errors and reports.
func (s RestoreState) String() string {
	switch s {
	case RestoreInProgress:
		return "restore in progress"
	case Restored:
		return "restored"
	}
	return "not restored"
}

// ParseRestore reads HeadObject's x-amz-restore header:
// `ongoing-request="true"`, or `ongoing-request="false", expiry-date="..."`
// once the copy is available. An empty header means not restored.
func ParseRestore(h string) RestoreState {
	switch {
	case strings.Contains(h, `ongoing-request="true"`):
		return RestoreInProgress
	case strings.Contains(h, `ongoing-request="false"`):
		return Restored
	}
	return NotRestored
}

// ArchivedError is an object in an archive storage class that cannot be
// read yet. It concerns that object only.
type ArchivedError struct {
	Bucket, Key, Class string
	State              RestoreState
}

// Error names the object, its class and what to do.
func (e *ArchivedError) Error() string {
	what := "set glacier: {restore: true, days: N, tier: Bulk|Standard|Expedited} in the job's source to request a restore; a later run reads it once available"
	if e.State == RestoreInProgress {
		what = "a restore is in progress; a later run reads it once available"
	}
	return fmt.Sprintf("s3://%s/%s: storage class %s (%s): %s", e.Bucket, e.Key, e.Class, e.State, what)
}

// RestoreStatus asks S3 (HeadObject) where an archived object stands.
func (s *Source) RestoreStatus(ctx context.Context, obj Object) (RestoreState, error) {
	in := &s3.HeadObjectInput{Bucket: &s.bucket, Key: &obj.Key}
	if obj.VersionID != "" {
		in.VersionId = aws.String(obj.VersionID)
	}
	out, err := s.client.HeadObject(ctx, in)
	if err != nil {
		return NotRestored, s.wrap(obj.Key, "head", err)
	}
	return ParseRestore(aws.ToString(out.Restore)), nil
}

// CheckRestored returns an *ArchivedError unless a restored copy of obj is
// readable: Open asks it first, and a dry run asks it alone, to plan an
// archived object without a GET.
func (s *Source) CheckRestored(ctx context.Context, obj Object) error {
	st, err := s.RestoreStatus(ctx, obj)
	if err != nil {
		return err
	}
	if st == Restored {
		return nil
	}
	return &ArchivedError{Bucket: s.bucket, Key: obj.Key, Class: obj.StorageClass, State: st}
}

// RequestRestore asks S3 to restore an archived object for days with tier
// ("Bulk", "Standard" or "Expedited") unless a restore is already under way
// or done, and reports the state after the request. The agent calls it for
// an *ArchivedError when the job's glacier.restore is set, reports the
// object as pending, and picks it up on a later run.
func (s *Source) RequestRestore(ctx context.Context, obj Object, days int32, tier string) (RestoreState, error) {
	st, err := s.RestoreStatus(ctx, obj)
	if err != nil || st != NotRestored {
		return st, err
	}
	in := &s3.RestoreObjectInput{Bucket: &s.bucket, Key: &obj.Key, RestoreRequest: &types.RestoreRequest{
		Days:                 aws.Int32(days),
		GlacierJobParameters: &types.GlacierJobParameters{Tier: types.Tier(tier)},
	}}
	if obj.VersionID != "" {
		in.VersionId = aws.String(obj.VersionID)
	}
	if _, err := s.client.RestoreObject(ctx, in); err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "RestoreAlreadyInProgress" {
			return RestoreInProgress, nil
		}
		return NotRestored, s.wrap(obj.Key, fmt.Sprintf("restore object (%d days, tier %s)", days, tier), err)
	}
	return RestoreInProgress, nil
}
