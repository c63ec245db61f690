package s3src

import (
	"encoding/base64"
	"hash"
	"hash/crc32"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	"github.com/minio/crc64nvme"
)

// checksum verifies the checksum a GET response carries for the bytes it
// returns: a whole object's, or one multipart part's.
type checksum struct {
	name string
	want string // base64, as S3 sends it
	got  string // computed by the last check
	h    hash.Hash
}

// newChecksum picks the checksum of a GET response, if it has one. S3 (and
// MinIO) send one for a whole object and for a part read by partNumber,
// never for a Range. A value with "-N" is a checksum of N part checksums
// (COMPOSITE), which cannot be recomputed without the upload's part
// boundaries, so it is not used.
func newChecksum(out *s3.GetObjectOutput) *checksum {
	for _, c := range []struct {
		name string
		v    *string
		h    func() hash.Hash
	}{
		// CRC-64/NVME, S3's default for new objects: hash/crc64 has no
		// carry-less-multiply path and ran at 1.8 GB/s here, the
		// crc64nvme package at 13 GB/s (PCLMULQDQ/AVX-512, or ARM PMULL).
		{"CRC64NVME", out.ChecksumCRC64NVME, func() hash.Hash { return crc64nvme.New() }},
		{"CRC32C", out.ChecksumCRC32C, func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) }},
		{"CRC32", out.ChecksumCRC32, func() hash.Hash { return crc32.NewIEEE() }},
	} {
		v := aws.ToString(c.v)
		if v != "" && !strings.Contains(v, "-") {
			return &checksum{name: c.name, want: v, h: c.h()}
		}
	}
	return nil
}

// add feeds the next bytes of the unit, in order.
func (f *checksum) add(p []byte) { f.h.Write(p) }

// reset starts over, for a unit read again from its start.
func (f *checksum) reset() { f.h.Reset() }

// check reports whether the bytes added have the checksum S3 sent; got
// keeps the value computed, for the message of a mismatch.
func (f *checksum) check() bool {
	f.got = base64.StdEncoding.EncodeToString(f.h.Sum(nil))
	return f.got == f.want
}

// sdkValidation is the SDK's middleware that checksums a GetObject body as
// it is read, when ChecksumMode is ENABLED.
const sdkValidation = "AWSChecksum:ValidateOutputPayloadChecksum"

// skipSDKValidation removes it from one GetObject: fill verifies every
// unit itself, also across a body continued by a ranged GET, which the
// SDK cannot, so the SDK's pass over the same bytes would only double the
// cost (measured: 0.21 s of 1.16 s CPU restoring 2 x 256 MiB went to
// CRC32C, half of it the SDK's). ChecksumMode stays ENABLED: it is what
// makes S3 send the checksums. A missing middleware (another SDK
// version) is no error: the bytes are then just checksummed twice.
func skipSDKValidation(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		_, _ = st.Deserialize.Remove(sdkValidation)
		return nil
	})
}

// checksumName describes the checksum out carries, for Meta.Checksum.
func checksumName(out *s3.GetObjectOutput, suffix string) string {
	if c := newChecksum(out); c != nil {
		return c.name + suffix
	}
	return ""
}
