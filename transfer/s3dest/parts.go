package s3dest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/s3client"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32c returns the base64 big-endian CRC32C S3 expects in
// x-amz-checksum-crc32c. S3 (and MinIO) recompute it and reject a part whose
// bytes were damaged on the way.
func crc32c(p []byte) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], crc32.Checksum(p, castagnoli))
	return base64.StdEncoding.EncodeToString(b[:])
}

// create starts the multipart upload on the first full part.
func (u *Upload) create(ctx context.Context) error {
	u.mu.Lock()
	id := u.uploadID
	u.mu.Unlock()
	if id != "" {
		return nil
	}
	in := &s3.CreateMultipartUploadInput{
		Bucket:            &u.d.bucket,
		Key:               &u.key,
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c,
		// A hash known at Begin (a finished file, hashed first) goes into
		// the object's metadata now; otherwise it follows as tags.
		Metadata: s3client.EncodeMeta(u.begin, true),
	}
	u.d.objectOptions(&in.StorageClass, &in.ServerSideEncryption, &in.SSEKMSKeyId, &in.Tagging)
	out, err := u.d.client.CreateMultipartUpload(ctx, in)
	if err != nil {
		return u.d.wrap(u.key, "create multipart upload", err)
	}
	u.mu.Lock()
	u.uploadID = aws.ToString(out.UploadId)
	u.mu.Unlock()
	return nil
}

// flush sends the current buffer as part num in the background, waiting for
// a free slot first.
func (u *Upload) flush(ctx context.Context, num int32) error {
	if err := u.create(ctx); err != nil {
		return err
	}
	select {
	case u.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("s3://%s/%s: waiting to send part %d: %w", u.d.bucket, u.key, num, ctx.Err())
	case <-u.ctx.Done():
		return fmt.Errorf("s3://%s/%s: waiting to send part %d: %w", u.d.bucket, u.key, num, u.ctx.Err())
	}
	buf, fromPool := u.buf, u.fromPool
	u.buf = nil
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		defer func() { <-u.sem }()
		defer u.releaseBuffer(buf, fromPool)
		if err := u.sendPart(u.ctx, num, *buf); err != nil {
			u.fail(err)
		}
	}()
	return nil
}

func (u *Upload) sendPart(ctx context.Context, num int32, data []byte) error {
	sum := crc32c(data)
	u.mu.Lock()
	id := u.uploadID
	u.mu.Unlock()
	out, err := u.d.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket:            &u.d.bucket,
		Key:               &u.key,
		UploadId:          &id,
		PartNumber:        aws.Int32(num),
		Body:              bytes.NewReader(data),
		ContentLength:     aws.Int64(int64(len(data))),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c,
		ChecksumCRC32C:    aws.String(sum),
	})
	if err != nil {
		return u.d.wrap(u.key, fmt.Sprintf("upload part %d", num), err)
	}
	u.mu.Lock()
	u.parts[num] = transfer.Part{Number: num, Size: int64(len(data)), ETag: aws.ToString(out.ETag), Checksum: sum}
	u.mu.Unlock()
	return nil
}

// Flush waits until every part handed to the background has been
// acknowledged (or failed) and returns the first failure. It does not send
// the part still filling. Call it before persisting a final checkpoint on
// shutdown, so the checkpoint covers all whole parts written.
func (u *Upload) Flush(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		u.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return u.failure()
	case <-ctx.Done():
		return fmt.Errorf("s3://%s/%s: flush: %w", u.d.bucket, u.key, ctx.Err())
	}
}

// Checkpoint returns the multipart upload's ID and the parts acknowledged so
// far (in part order; not necessarily contiguous while parts are in flight),
// or nil while nothing has been sent as a part (a small file, or the first
// part still filling).
func (u *Upload) Checkpoint() *transfer.Checkpoint {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.uploadID == "" {
		return nil
	}
	cp := &transfer.Checkpoint{
		Key:      u.key,
		UploadID: u.uploadID,
		PartSize: u.partSize,
	}
	for _, p := range u.parts {
		cp.Parts = append(cp.Parts, p)
	}
	sort.Slice(cp.Parts, func(i, j int) bool { return cp.Parts[i].Number < cp.Parts[j].Number })
	return cp
}

// completedParts lists every part 1..n, failing if one is missing, which
// would otherwise publish a file with a hole.
func (u *Upload) completedParts() ([]types.CompletedPart, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := int32((u.pos + u.partSize - 1) / u.partSize)
	if n == 0 {
		n = 1
	}
	out := make([]types.CompletedPart, 0, n)
	for i := int32(1); i <= n; i++ {
		p, ok := u.parts[i]
		if !ok {
			return nil, fmt.Errorf("s3://%s/%s: part %d of %d was never acknowledged", u.d.bucket, u.key, i, n)
		}
		cp := types.CompletedPart{PartNumber: aws.Int32(i), ETag: aws.String(p.ETag)}
		if p.Checksum != "" {
			cp.ChecksumCRC32C = aws.String(p.Checksum)
		}
		out = append(out, cp)
	}
	return out, nil
}
