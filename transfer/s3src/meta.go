package s3src

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/s3client"
)

// Meta is what the first GET of an object told about it: no extra request
// is made for it.
type Meta struct {
	Size         int64
	ETag         string // without quotes
	VersionID    string
	LastModified time.Time
	// ModTime and Mode are those efssync stored with the object (the
	// archived file's), else LastModified and 0644.
	ModTime time.Time
	Mode    fs.FileMode
	// UID and GID are the archived file's owner, or -1 when efssync did
	// not store one (an object it did not write, or one archived by a
	// version that stored no owner).
	UID, GID int
	// Hash is the BLAKE3 efssync stored as metadata: compare it with the
	// BLAKE3 of the bytes written. Nil for objects efssync did not write,
	// and for those it archived while they were still growing (their hash
	// is in the efssync-blake3 tag, which a GET does not return).
	Hash []byte
	// Checksum names the S3 checksum verified over the bytes read
	// ("CRC32C", "CRC64NVME", "CRC32", or "CRC32C per part" style
	// descriptions), or is empty when S3 returned none for the requests
	// made (e.g. a multipart object read by ranges: its checksum is a
	// checksum of part checksums at part boundaries S3 does not report).
	Checksum string
}

// metaOf reads Meta from a GET response of key.
func metaOf(key string, out *s3.GetObjectOutput, size int64) (Meta, error) {
	tm := transfer.Meta{Mode: 0o644, ModTime: aws.ToTime(out.LastModified), UID: -1, GID: -1}
	vals := make(map[string]string, len(out.Metadata))
	for k, v := range out.Metadata {
		vals[strings.ToLower(k)] = v
	}
	if err := s3client.DecodeMeta(vals, &tm); err != nil {
		return Meta{}, fmt.Errorf("s3 key %q: efssync metadata: %w", key, err)
	}
	return Meta{
		Size:         size,
		ETag:         strings.Trim(aws.ToString(out.ETag), `"`),
		VersionID:    aws.ToString(out.VersionId),
		LastModified: aws.ToTime(out.LastModified),
		ModTime:      tm.ModTime,
		Mode:         tm.Mode,
		UID:          tm.UID,
		GID:          tm.GID,
		Hash:         tm.Hash,
	}, nil
}

// TagHash returns the BLAKE3 efssync stored as the efssync-blake3 tag of an
// object it archived while the file was still growing (Meta.Hash is nil for
// those), or nil when the object has no such tag. It costs one request
// (GetObjectTagging): call it only when Meta.Hash is nil and the BLAKE3 is
// to be checked.
func (s *Source) TagHash(ctx context.Context, obj Object) ([]byte, error) {
	in := &s3.GetObjectTaggingInput{Bucket: &s.bucket, Key: &obj.Key}
	if obj.VersionID != "" {
		in.VersionId = aws.String(obj.VersionID)
	}
	out, err := s.client.GetObjectTagging(ctx, in)
	if err != nil {
		return nil, s.wrap(obj.Key, "get tags", err)
	}
	vals := map[string]string{}
	for _, t := range out.TagSet {
		if k, ok := strings.CutPrefix(aws.ToString(t.Key), s3client.TagPrefix); ok && k == s3client.MetaHash {
			vals[k] = aws.ToString(t.Value)
		}
	}
	var m transfer.Meta
	if err := s3client.DecodeMeta(vals, &m); err != nil {
		return nil, fmt.Errorf("s3 key %q: efssync tags: %w", obj.Key, err)
	}
	return m.Hash, nil
}
