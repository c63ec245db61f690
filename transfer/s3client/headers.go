package s3client

import (
	"context"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// dropDiagnosticHeaders keeps the SDK's two per-request diagnostic headers,
// Amz-Sdk-Invocation-Id (a random UUID, one crypto/rand read per request)
// and Amz-Sdk-Request ("attempt=1; max=10"), off the wire. Neither changes
// what the server does; both are signed, so the server parses and
// canonicalises them for every request, which for 5,000 small files is
// 20,000 headers of work on each side. Retries are unaffected: the SDK
// counts attempts itself, not through these headers.
func dropDiagnosticHeaders(stack *middleware.Stack) error {
	if _, ok := stack.Build.Get((*awsmiddleware.ClientRequestID)(nil).ID()); ok {
		if _, err := stack.Build.Remove((*awsmiddleware.ClientRequestID)(nil).ID()); err != nil {
			return err
		}
	}
	if _, ok := stack.Finalize.Get("Signing"); !ok {
		return nil // unsigned operation: nothing to insert before
	}
	return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("efssync:DropAttemptHeader",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			if r, ok := in.Request.(*smithyhttp.Request); ok {
				r.Header.Del("Amz-Sdk-Request")
			}
			return next.HandleFinalize(ctx, in)
		}), "Signing", middleware.Before)
}
