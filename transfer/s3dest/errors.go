package s3dest

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/efssync/efssync/transfer/s3client"
)

// wrap names the object and the operation, and classifies err for the retry
// decorator (see s3client.Wrap).
func (d *Dest) wrap(key, op string, err error) error {
	return s3client.Wrap(d.bucket, key, op, err)
}

func isNoSuchUpload(err error) bool {
	var nsu *types.NoSuchUpload
	if errors.As(err, &nsu) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "NoSuchUpload"
}
