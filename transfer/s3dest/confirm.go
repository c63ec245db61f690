package s3dest

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"strconv"

	"github.com/efssync/efssync/transfer"
)

// Commit checks what it published, so `verify: transferred` costs no HEAD
// after every object (transfer.CommitVerifier). The request that publishes
// an object (PutObject, CompleteMultipartUpload) is atomic: it either
// stores the bytes and the metadata it carries, or nothing. What a HEAD
// afterwards would add is the proof that the stored bytes are the ones
// sent and that the store keeps the metadata:
//
//   - the bytes: every body goes up with the CRC32C efssync computed over
//     it, S3 refuses a body whose CRC32C differs (BadDigest), and its
//     answer names the CRC32C it stored (for a multipart upload, the
//     composite of the parts'). Commit compares that with its own.
//   - the metadata: the first object a Dest publishes is read back with a
//     HEAD and compared with what was sent, proving the store keeps
//     x-amz-meta-* as sent; later objects, sent the same way, rely on it.
//
// A store that names no checksum in its answer gets the HEAD for every
// object, as `verify: transferred` would have made.

// VerifiesCommit implements transfer.CommitVerifier (see above).
func (d *Dest) VerifiesCommit() {}

var _ transfer.CommitVerifier = (*Dest)(nil)

// confirm checks the publication of u's object: stored is the CRC32C S3
// answered with (nil when it named none), sent the one efssync computed.
func (u *Upload) confirm(ctx context.Context, stored *string, sent string, final transfer.Meta) error {
	if stored == nil || sent == "" {
		return u.d.confirmByHead(ctx, u.key, final)
	}
	if *stored != sent {
		return fmt.Errorf("s3://%s/%s: S3 stored CRC32C %s, but %s was sent", u.d.bucket, u.key, *stored, sent)
	}
	return u.d.confirmMetaKept(ctx, u.key, final)
}

// confirmMetaKept reads key's object back unless an earlier one already
// showed that the store keeps metadata as sent. Commits wait for the one
// read back in progress instead of each sending their own.
func (d *Dest) confirmMetaKept(ctx context.Context, key string, final transfer.Meta) error {
	if d.metaKept.Load() {
		return nil
	}
	d.metaMu.Lock()
	defer d.metaMu.Unlock()
	if d.metaKept.Load() {
		return nil
	}
	return d.confirmByHead(ctx, key, final)
}

// confirmByHead reads key's object back with a HEAD and compares its size
// and efssync metadata with final. A match also shows that the store
// keeps user metadata as sent.
func (d *Dest) confirmByHead(ctx context.Context, key string, final transfer.Meta) error {
	got, err := d.statKey(ctx, key)
	if err != nil {
		return err
	}
	switch {
	case got.Size != final.Size:
		return fmt.Errorf("s3://%s/%s: published, but S3 holds %d bytes, not %d", d.bucket, key, got.Size, final.Size)
	case len(final.Hash) > 0 && !bytes.Equal(got.Hash, final.Hash):
		return fmt.Errorf("s3://%s/%s: published, but the BLAKE3 S3 holds (%x) is not the one sent (%x)", d.bucket, key, got.Hash, final.Hash)
	case !final.ModTime.IsZero() && !got.ModTime.Equal(final.ModTime):
		return fmt.Errorf("s3://%s/%s: published, but the mtime S3 holds (%s) is not the one sent (%s)", d.bucket, key, got.ModTime, final.ModTime)
	}
	d.metaKept.Store(true)
	return nil
}

// compositeCRC32C is the checksum S3 names for a multipart upload whose
// parts carried the CRC32Cs sums (base64, in part order): the CRC32C of
// the parts' checksums, then "-" and the part count. It returns "" when a
// part's checksum is unknown (a part of a resumed upload checkpointed
// before checksums were kept).
func compositeCRC32C(sums []string) string {
	h := crc32.New(castagnoli)
	for _, s := range sums {
		raw, err := base64.StdEncoding.DecodeString(s)
		if s == "" || err != nil {
			return ""
		}
		h.Write(raw)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(sums))
}
