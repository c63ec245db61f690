package s3dest

import (
	"bytes"
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/s3client"
)

// Commit publishes the object. A file that never filled a part goes up in
// one PutObject with all metadata; otherwise the last part is sent, the
// multipart upload completed and, unless Begin's Meta carried the hash (then
// already in the object's metadata), the efssync tags written (see the
// package documentation). A failed Commit may be called again or followed
// by Abort.
func (u *Upload) Commit(ctx context.Context, final transfer.Meta) error {
	if u.finished {
		return fmt.Errorf("s3://%s/%s: commit after commit or abort", u.d.bucket, u.key)
	}
	if u.pos != final.Size {
		return fmt.Errorf("s3://%s/%s: %d bytes written, but the file has %d", u.d.bucket, u.key, u.pos, final.Size)
	}
	if u.completed && len(u.begin.Hash) == 0 {
		return u.tag(ctx, final)
	}
	if u.completed {
		return u.published(ctx, final)
	}
	if err := u.failure(); err != nil {
		return err
	}
	u.mu.Lock()
	multipart := u.uploadID != ""
	nparts := len(u.parts)
	u.mu.Unlock()
	if !multipart {
		if err := u.put(ctx, final); err != nil {
			return err
		}
		u.finish()
		return nil
	}
	if err := u.checkBeginHash(final); err != nil {
		return err
	}
	if u.buf != nil && len(*u.buf) > 0 || u.pos == 0 && nparts == 0 {
		if u.buf == nil {
			u.newBuffer()
		}
		if err := u.flush(ctx, int32((u.pos-int64(len(*u.buf)))/u.partSize)+1); err != nil {
			u.fail(err)
			return err
		}
	}
	u.wg.Wait()
	if err := u.failure(); err != nil {
		return err
	}
	parts, err := u.completedParts()
	if err != nil {
		return err
	}
	out, err := u.d.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          &u.d.bucket,
		Key:             &u.key,
		UploadId:        aws.String(u.uploadID),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return u.d.wrap(u.key, "complete multipart upload", err)
	}
	u.completed = true
	u.stored, u.sent = out.ChecksumCRC32C, compositeOf(parts)
	if len(u.begin.Hash) == 0 {
		// The hash, mtime and mode follow as tags.
		return u.tag(ctx, final)
	}
	// Created with the hash, mtime and mode as metadata: no tags.
	return u.published(ctx, final)
}

// published confirms a completed multipart upload and finishes it.
func (u *Upload) published(ctx context.Context, final transfer.Meta) error {
	if err := u.confirm(ctx, u.stored, u.sent, final); err != nil {
		return err
	}
	u.finish()
	return nil
}

// compositeOf is the composite CRC32C S3 should name for parts.
func compositeOf(parts []types.CompletedPart) string {
	sums := make([]string, len(parts))
	for i, p := range parts {
		sums[i] = aws.ToString(p.ChecksumCRC32C)
	}
	return compositeCRC32C(sums)
}

// checkBeginHash refuses to publish a multipart object whose metadata,
// fixed at CreateMultipartUpload from Begin's Meta, would not describe the
// content: the file changed between its hash and its last byte.
func (u *Upload) checkBeginHash(final transfer.Meta) error {
	if len(u.begin.Hash) == 0 {
		return nil
	}
	if !bytes.Equal(u.begin.Hash, final.Hash) || !u.begin.ModTime.Equal(final.ModTime) || u.begin.Mode != final.Mode {
		return fmt.Errorf("s3://%s/%s: the file changed after Begin: its BLAKE3, mtime or mode at Commit differ from those at Begin, which the object's metadata already holds; abort and send it again", u.d.bucket, u.key)
	}
	return nil
}

// tag writes the efssync tags after completion. When it fails the object is
// published without a hash; calling Commit again retries only this step.
func (u *Upload) tag(ctx context.Context, final transfer.Meta) error {
	_, err := u.d.client.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{
		Bucket:  &u.d.bucket,
		Key:     &u.key,
		Tagging: &types.Tagging{TagSet: u.d.tagSet(s3client.EncodeTags(final))},
	})
	if err != nil {
		return u.d.wrap(u.key, "put tags", err)
	}
	return u.published(ctx, final)
}

// put sends a file smaller than a part in one request.
func (u *Upload) put(ctx context.Context, final transfer.Meta) error {
	var data []byte
	if u.buf != nil {
		data = *u.buf
	}
	sum := crc32c(data)
	in := &s3.PutObjectInput{
		Bucket:            &u.d.bucket,
		Key:               &u.key,
		Body:              bytes.NewReader(data),
		ContentLength:     aws.Int64(int64(len(data))),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c,
		ChecksumCRC32C:    aws.String(sum),
		Metadata:          s3client.EncodeMeta(final, true),
	}
	u.d.objectOptions(&in.StorageClass, &in.ServerSideEncryption, &in.SSEKMSKeyId, &in.Tagging)
	out, err := u.d.client.PutObject(ctx, in)
	if err != nil {
		return u.d.wrap(u.key, "put", err)
	}
	return u.confirm(ctx, out.ChecksumCRC32C, sum, final)
}

// finish marks the upload done and returns its buffer.
func (u *Upload) finish() {
	u.finished = true
	if u.buf != nil {
		u.releaseBuffer(u.buf, u.fromPool)
		u.buf = nil
	}
	u.cancel()
}

// Abort stops parts in flight and discards the multipart upload. It is safe
// after a failed Commit and when nothing was sent.
func (u *Upload) Abort(ctx context.Context) error {
	if u.finished || u.completed {
		return nil
	}
	u.cancel()
	u.wg.Wait()
	u.finish()
	u.mu.Lock()
	id := u.uploadID
	u.mu.Unlock()
	if id == "" {
		return nil
	}
	_, err := u.d.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &u.d.bucket, Key: &u.key, UploadId: &id})
	if err != nil && !isNoSuchUpload(err) {
		return u.d.wrap(u.key, "abort multipart upload", err)
	}
	return nil
}
