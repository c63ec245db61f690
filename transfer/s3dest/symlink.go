package s3dest

import (
	"context"
	"fmt"
	"io/fs"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/s3client"
)

// S3 has neither symlinks nor directories. efssync stores each as an
// object that says what it stands for in its metadata (s3client.MetaType),
// with the mode, owner and mtime beside it, so a restore can make it again
// (s3src.Readlink, s3src.Object.Dir):
//
//	a symlink:           the object rel, its body the link's target
//	an empty directory:  the marker object "rel/", empty
//
// The target is the body, not a metadata entry, because S3 allows 2 KiB of
// metadata and a target may be 4 KiB of any bytes.

// Symlink implements transfer.Symlinker: rel becomes an object whose body
// is target, marked a symlink. A later Stat reports fs.ModeSymlink.
func (d *Dest) Symlink(ctx context.Context, rel, target string, m transfer.Meta) error {
	key, err := d.Key(rel)
	if err != nil {
		return err
	}
	m.Mode = m.Mode.Perm() | fs.ModeSymlink
	m.Hash = nil
	return d.putMarker(ctx, key, target, m)
}

// MarkDir stores the marker object "rel/" with the directory's mode,
// owner and mtime, so an empty directory survives a round trip through
// S3: s3src lists such a marker as an Object with Dir set. It is not
// transfer.DirMaker on purpose: a marker per directory costs a request,
// and a directory that holds files comes back without one, so the agent
// calls MarkDir for empty directories only.
func (d *Dest) MarkDir(ctx context.Context, rel string, m transfer.Meta) error {
	key, err := d.Key(rel)
	if err != nil {
		return err
	}
	m.Mode = m.Mode.Perm() | m.Mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) | fs.ModeDir
	m.Hash = nil
	return d.putMarker(ctx, key+"/", "", m)
}

// Readlink returns the target of the symlink stored at rel, so `verify`
// notices a link whose target changed at the source. An object that is
// not a symlink object is an error naming it.
func (d *Dest) Readlink(ctx context.Context, rel string) (string, error) {
	key, err := d.Key(rel)
	if err != nil {
		return "", err
	}
	out, err := d.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &d.bucket, Key: &key})
	if err != nil {
		return "", d.wrap(key, "get", err)
	}
	defer out.Body.Close()
	var typ string
	for k, v := range out.Metadata {
		if strings.EqualFold(k, s3client.MetaType) {
			typ = v
		}
	}
	if typ != s3client.TypeSymlink {
		return "", fmt.Errorf("s3://%s/%s: not a symlink object (type %q)", d.bucket, key, typ)
	}
	return s3client.ReadTarget(key, out.Body)
}

// putMarker writes a small object of body with m's efssync metadata.
func (d *Dest) putMarker(ctx context.Context, key, body string, m transfer.Meta) error {
	in := &s3.PutObjectInput{
		Bucket:            &d.bucket,
		Key:               &key,
		Body:              strings.NewReader(body),
		ContentLength:     aws.Int64(int64(len(body))),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c,
		Metadata:          s3client.EncodeMeta(m, false),
	}
	d.objectOptions(&in.StorageClass, &in.ServerSideEncryption, &in.SSEKMSKeyId, &in.Tagging)
	// A marker stays in the standard class: a restore must read it
	// without a RestoreObject first, and it is too small to save on.
	in.StorageClass = ""
	if _, err := d.client.PutObject(ctx, in); err != nil {
		return d.wrap(key, "put", err)
	}
	return nil
}
