package s3dest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sort"
	"strings"
	"sync"

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

// Upload is one file on its way into S3.
//
// Write buffers until a part is full and then sends it in the background,
// with at most PartConcurrency parts in flight; Write blocks while that many
// are. Checkpoint is safe to call from any goroutine and lists the parts
// the server has acknowledged so far: the agent calls it after each Write
// and persists it whenever its Parts grew, so that after a crash Begin can
// continue the upload without sending those parts again. Flush waits for
// the parts in flight, for a last checkpoint on shutdown.
//
// A failed Write, Flush or Commit (other than Commit's size check) fails
// the Upload: every later call returns the same error. Abort it, or drop it
// and call Begin again with its last Checkpoint to continue.
type Upload struct {
	d        *Dest
	key      string
	begin    transfer.Meta
	partSize int64

	ctx    context.Context // for background parts; cancelled by Abort
	cancel context.CancelFunc
	sem    chan struct{}
	wg     sync.WaitGroup

	// Owned by the caller's goroutine (Write, Commit, Abort).
	buf       *[]byte
	fromPool  bool
	pos       int64                   // next offset expected
	have      map[int32]transfer.Part // parts already on the server (resume)
	finished  bool                    // committed or aborted
	completed bool                    // CompleteMultipartUpload succeeded
	// After completion: the CRC32C S3 named and the one it should be.
	stored *string
	sent   string

	mu       sync.Mutex
	uploadID string
	parts    map[int32]transfer.Part
	err      error // first failure of a background part
}

// partSizeFor raises the configured part size for a file that would need
// more than S3's 10,000 parts, to the next MiB that fits.
func partSizeFor(configured, size int64) int64 {
	if size <= configured*maxParts {
		return configured
	}
	const mib = 1 << 20
	need := (size + maxParts - 1) / maxParts
	return min((need+mib-1)/mib*mib, MaxPartSize)
}

func newUpload(ctx context.Context, d *Dest, key string, m transfer.Meta) *Upload {
	uctx, cancel := context.WithCancel(ctx)
	return &Upload{
		d:        d,
		key:      key,
		begin:    m,
		partSize: partSizeFor(d.opts.PartSize, m.Size),
		ctx:      uctx,
		cancel:   cancel,
		sem:      make(chan struct{}, d.opts.PartConcurrency),
		parts:    map[int32]transfer.Part{},
	}
}

// resume adopts cp's upload and the checkpointed parts the server confirms.
func (u *Upload) resume(ctx context.Context, cp *transfer.Checkpoint) error {
	server := map[int32]types.Part{}
	in := &s3.ListPartsInput{Bucket: &u.d.bucket, Key: &u.key, UploadId: aws.String(cp.UploadID)}
	for {
		out, err := u.d.client.ListParts(ctx, in)
		if isNoSuchUpload(err) {
			return nil // gone (completed, aborted or expired): start afresh
		}
		if err != nil {
			return u.d.wrap(u.key, "list parts", err)
		}
		for _, p := range out.Parts {
			server[aws.ToInt32(p.PartNumber)] = p
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		in.PartNumberMarker = out.NextPartNumberMarker
	}
	u.partSize = cp.PartSize
	u.uploadID = cp.UploadID
	u.have = map[int32]transfer.Part{}
	for _, p := range cp.Parts {
		sp, ok := server[p.Number]
		// Only whole parts can be skipped by offset; a short last part
		// is sent again with the rest of the file.
		if !ok || p.Size != cp.PartSize || aws.ToInt64(sp.Size) != p.Size ||
			strings.Trim(aws.ToString(sp.ETag), `"`) != strings.Trim(p.ETag, `"`) {
			continue
		}
		u.have[p.Number] = p
		u.parts[p.Number] = p
	}
	return nil
}

// Write takes the bytes at off. Bytes before the current end (a retried
// write) and bytes of parts the server already holds are discarded.
func (u *Upload) Write(ctx context.Context, off int64, p []byte) error {
	if u.finished {
		return fmt.Errorf("s3://%s/%s: write after commit or abort", u.d.bucket, u.key)
	}
	if err := u.failure(); err != nil {
		return err
	}
	if off > u.pos {
		return fmt.Errorf("s3://%s/%s: write at offset %d leaves a gap after %d", u.d.bucket, u.key, off, u.pos)
	}
	if drop := u.pos - off; drop > 0 {
		if drop >= int64(len(p)) {
			return nil
		}
		p = p[drop:]
	}
	for len(p) > 0 {
		num := int32(u.pos/u.partSize) + 1
		if num > maxParts {
			return fmt.Errorf("s3://%s/%s: file exceeds %d parts of %d bytes", u.d.bucket, u.key, maxParts, u.partSize)
		}
		n := min(int64(len(p)), u.partSize-u.pos%u.partSize)
		if _, ok := u.have[num]; ok {
			u.pos += n
			p = p[n:]
			continue
		}
		if u.buf == nil {
			u.newBuffer()
		}
		*u.buf = append(*u.buf, p[:n]...)
		u.pos += n
		p = p[n:]
		if int64(len(*u.buf)) == u.partSize {
			if err := u.flush(ctx, num); err != nil {
				// The bytes are accounted for but not sent: the upload
				// cannot go on, only be resumed from its checkpoint.
				u.fail(err)
				return err
			}
		}
	}
	return u.failure()
}

// newBuffer takes a part buffer. A file known to be smaller than a part gets
// one of its own size, so many small files in flight do not each pin a
// full part.
func (u *Upload) newBuffer() {
	if u.pos == 0 && u.begin.Size >= 0 && u.begin.Size < u.partSize && u.uploadID == "" {
		b := make([]byte, 0, u.begin.Size)
		u.buf, u.fromPool = &b, false
		return
	}
	if u.partSize != u.d.opts.PartSize {
		b := make([]byte, 0, u.partSize) // a raised part size: not the pool's
		u.buf, u.fromPool = &b, false
		return
	}
	u.buf, u.fromPool = u.d.pool.get(), true
}

func (u *Upload) releaseBuffer(b *[]byte, fromPool bool) {
	if fromPool {
		u.d.pool.put(b)
	}
}

func (u *Upload) failure() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}

func (u *Upload) fail(err error) {
	u.mu.Lock()
	if u.err == nil {
		u.err = err
	}
	u.mu.Unlock()
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
		Tagging: &types.Tagging{TagSet: u.d.tagSet(s3client.EncodeMeta(final, true))},
	})
	if err != nil {
		return u.d.wrap(u.key, "put tags", err)
	}
	return u.published(ctx, final)
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

// objectOptions fills the per-object settings shared by PutObject and
// CreateMultipartUpload.
func (d *Dest) objectOptions(class *types.StorageClass, sse *types.ServerSideEncryption, kms **string, tagging **string) {
	if d.opts.StorageClass != "" {
		*class = types.StorageClass(d.opts.StorageClass)
	}
	if d.opts.SSE != "" {
		*sse = types.ServerSideEncryption(d.opts.SSE)
	}
	if d.opts.KMSKeyID != "" {
		*kms = aws.String(d.opts.KMSKeyID)
	}
	if d.tagValue != "" {
		*tagging = aws.String(d.tagValue)
	}
}

var _ transfer.Upload = (*Upload)(nil)
var _ transfer.Destination = (*Dest)(nil)
var _ transfer.Lister = (*Dest)(nil)
var _ transfer.Opener = (*Dest)(nil)
var _ transfer.Cleaner = (*Dest)(nil)
