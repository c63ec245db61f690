package s3src

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// maxTarget is the longest symlink target Linux accepts (PATH_MAX with its
// NUL).
const maxTarget = 4095

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
	body, err := io.ReadAll(io.LimitReader(out.Body, maxTarget+1))
	if err != nil {
		return "", Meta{}, s.wrap(obj.Key, "read", err)
	}
	m, err := metaOf(obj.Key, out, int64(len(body)))
	if err != nil {
		return "", Meta{}, err
	}
	switch {
	case m.Mode&fs.ModeSymlink == 0:
		return "", Meta{}, fmt.Errorf("s3 key %q: %w", obj.Key, ErrNotSymlink)
	case len(body) == 0 || len(body) > maxTarget:
		return "", Meta{}, fmt.Errorf("s3 key %q: symlink target of %d bytes: want 1 to %d", obj.Key, len(body), maxTarget)
	}
	for _, b := range body {
		if b == 0 {
			return "", Meta{}, fmt.Errorf("s3 key %q: symlink target contains a NUL byte", obj.Key)
		}
	}
	return string(body), m, nil
}
