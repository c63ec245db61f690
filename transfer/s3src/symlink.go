package s3src

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/efssync/efssync/transfer/s3client"
)

// ErrNotSymlink marks an object Readlink was asked about that efssync did
// not store as a symlink.
var ErrNotSymlink = errors.New("not a symlink object")

// Readlink reads the symlink that s3dest stored as obj (see s3dest's
// Symlink): its target and its metadata, with fs.ModeSymlink in Mode. A
// listing cannot tell a symlink object from a file; the first GET can, so
// a restore that finds fs.ModeSymlink in Reader.Meta().Mode (or in a Meta
// from Readlink) makes a link instead of writing the body into a file.
// An object efssync did not mark as a symlink gives an error wrapping
// ErrNotSymlink, and one whose body is no valid target an error naming it.
func (s *Source) Readlink(ctx context.Context, obj Object) (string, Meta, error) {
	in := &s3.GetObjectInput{Bucket: &s.bucket, Key: &obj.Key}
	if obj.VersionID != "" {
		in.VersionId = aws.String(obj.VersionID)
	}
	if obj.ETag != "" {
		in.IfMatch = aws.String(`"` + obj.ETag + `"`)
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		return "", Meta{}, s.wrap(obj.Key, "get", err)
	}
	defer out.Body.Close()
	m, err := metaOf(obj.Key, out, aws.ToInt64(out.ContentLength))
	if err != nil {
		return "", Meta{}, err
	}
	if m.Mode&fs.ModeSymlink == 0 {
		return "", Meta{}, fmt.Errorf("s3 key %q: %w", obj.Key, ErrNotSymlink)
	}
	target, err := s3client.ReadTarget(obj.Key, out.Body)
	if err != nil {
		return "", Meta{}, err
	}
	return target, m, nil
}

// DirMeta reads the metadata s3dest's MarkDir stored with the directory
// marker obj (Object.Dir): mode, owner and mtime, for a restore to give an
// empty directory back as it was. A marker made by another tool has none:
// its Meta is 0755, LastModified and no owner. One HEAD request.
func (s *Source) DirMeta(ctx context.Context, obj Object) (Meta, error) {
	in := &s3.HeadObjectInput{Bucket: &s.bucket, Key: &obj.Key}
	if obj.VersionID != "" {
		in.VersionId = aws.String(obj.VersionID)
	}
	out, err := s.client.HeadObject(ctx, in)
	if err != nil {
		return Meta{}, s.wrap(obj.Key, "head", err)
	}
	m, err := metaOf(obj.Key, &s3.GetObjectOutput{Metadata: out.Metadata, LastModified: out.LastModified,
		ETag: out.ETag, VersionId: out.VersionId}, 0)
	if err != nil {
		return Meta{}, err
	}
	if m.Mode&fs.ModeDir == 0 {
		m.Mode = fs.ModeDir | 0o755
	}
	return m, nil
}
