package s3src

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/efssync/efssync/transfer"
)

// maxPartBuffer bounds one multipart part held in memory; an object with
// larger parts (S3 allows 5 GiB) fails rather than exhausting memory.
const maxPartBuffer = 1 << 30

// response is a GET response and the bytes it carries: n at off.
type response struct {
	out    *s3.GetObjectOutput
	off, n int64
}

// get requests unit u and checks the response is the listed object's.
func (r *Reader) get(ctx context.Context, u unit) (*response, error) {
	in := &s3.GetObjectInput{Bucket: &r.s.bucket, Key: &r.obj.Key, ChecksumMode: types.ChecksumModeEnabled}
	if r.obj.ETag != "" {
		in.IfMatch = aws.String(`"` + r.obj.ETag + `"`)
	}
	if r.obj.VersionID != "" {
		in.VersionId = aws.String(r.obj.VersionID)
	}
	what := "get"
	switch {
	case u.num > 0:
		in.PartNumber = aws.Int32(u.num)
		what = fmt.Sprintf("get part %d", u.num)
	case !u.whole:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", u.off, u.off+u.n-1))
		what = fmt.Sprintf("get bytes %d-%d", u.off, u.off+u.n-1)
	}
	out, err := r.s.client.GetObject(ctx, in, skipSDKValidation)
	if err != nil {
		var ae smithy.APIError
		switch {
		case errors.As(err, &ae) && ae.ErrorCode() == "PreconditionFailed":
			return nil, fmt.Errorf("s3://%s/%s: %s: %w (its ETag is no longer %s)", r.s.bucket, r.obj.Key, what, ErrChanged, r.obj.ETag)
		case errors.As(err, &ae) && ae.ErrorCode() == "InvalidObjectState":
			// Archived although the listing's class did not say so (an
			// Intelligent-Tiering archive tier), or its restore expired.
			return nil, &ArchivedError{Bucket: r.s.bucket, Key: r.obj.Key, Class: r.obj.StorageClass}
		}
		return nil, r.s.wrap(r.obj.Key, what, err)
	}
	resp, err := r.check(out, u)
	if err != nil {
		out.Body.Close()
		return nil, fmt.Errorf("s3://%s/%s: %s: %w", r.s.bucket, r.obj.Key, what, err)
	}
	return resp, nil
}

// check confirms a response is the listed object's and says which bytes
// it carries.
func (r *Reader) check(out *s3.GetObjectOutput, u unit) (*response, error) {
	if etag := trimQuotes(aws.ToString(out.ETag)); r.obj.ETag != "" && etag != r.obj.ETag {
		return nil, fmt.Errorf("%w (ETag %s, listed %s)", ErrChanged, etag, r.obj.ETag)
	}
	n := aws.ToInt64(out.ContentLength)
	if u.whole {
		if n != r.obj.Size {
			return nil, fmt.Errorf("%w (%d bytes, listed %d)", ErrChanged, n, r.obj.Size)
		}
		return &response{out: out, n: n}, nil
	}
	cr := aws.ToString(out.ContentRange)
	off, end, total, ok := parseContentRange(cr)
	switch {
	case !ok || end-off+1 != n:
		return nil, fmt.Errorf("unexpected Content-Range %q for %d bytes", cr, n)
	case total != r.obj.Size:
		return nil, fmt.Errorf("%w (%d bytes, listed %d)", ErrChanged, total, r.obj.Size)
	case u.num == 0 && (off != u.off || n != u.n):
		return nil, fmt.Errorf("asked for %d bytes at %d, got Content-Range %q", u.n, u.off, cr)
	case n > maxPartBuffer:
		return nil, fmt.Errorf("part of %d bytes is larger than the %d a restore holds in memory", n, maxPartBuffer)
	}
	return &response{out: out, off: off, n: n}, nil
}

// parseContentRange reads "bytes START-END/TOTAL".
func parseContentRange(s string) (off, end, total int64, ok bool) {
	rest, found := strings.CutPrefix(s, "bytes ")
	rng, tot, found2 := strings.Cut(rest, "/")
	a, b, found3 := strings.Cut(rng, "-")
	if !found || !found2 || !found3 {
		return 0, 0, 0, false
	}
	var err1, err2, err3 error
	off, err1 = strconv.ParseInt(a, 10, 64)
	end, err2 = strconv.ParseInt(b, 10, 64)
	total, err3 = strconv.ParseInt(tot, 10, 64)
	return off, end, total, err1 == nil && err2 == nil && err3 == nil && off >= 0 && end >= off && total > end
}

// fetch reads unit u; resp, when not nil, is its response already
// received. The SDK retries a request that fails; a body that breaks off
// midway (a reset, a stall cut by the stall timeout) is continued here
// with a ranged GET of the bytes still missing, up to MaxAttempts times.
// The checksum S3 sent with the unit's first response is then verified
// over all of its bytes, wherever they came from.
func (r *Reader) fetch(u unit, resp *response) part {
	var err error
	if resp == nil {
		if resp, err = r.get(r.ctx, u); err != nil {
			return part{err: err}
		}
	}
	if u.num > 0 && resp.n > r.plen && u.num != 1 {
		resp.out.Body.Close()
		return part{err: r.errorf("part %d has %d bytes, more than the %d of the part read first", u.num, resp.n, r.plen)}
	}
	return r.fill(resp)
}

// fill reads the bytes resp announces, continuing a body that breaks off,
// then verifies the checksum S3 sent with the unit over all of its bytes,
// wherever they came from: the bytes are checksummed once, here (the SDK's
// own validation of the same bytes is switched off, see get). A mismatch
// reads the whole unit again, up to MaxAttempts times.
func (r *Reader) fill(resp *response) part {
	off := resp.off
	buf, pooled := r.s.partBuf(resp.n)
	sum := newChecksum(resp.out)
	got := 0
	for attempt := 1; ; attempt++ {
		err := r.readInto(&resp, off, buf, &got, sum)
		if err == nil {
			if sum == nil || sum.check() {
				return part{off: off, data: buf, buf: pooled}
			}
			err = transfer.Retriable(r.errorf("bytes %d-%d: %s of the bytes read is %s, S3 holds %s",
				off, off+int64(len(buf))-1, sum.name, sum.got, sum.want))
			got = 0 // read all of it again
			sum.reset()
		}
		var gaveUp requestFailed
		if errors.As(err, &gaveUp) {
			r.s.putBuf(pooled)
			return part{err: gaveUp.err}
		}
		if r.ctx.Err() != nil || errors.Is(err, ErrChanged) {
			r.s.putBuf(pooled)
			return part{err: err}
		}
		if attempt >= r.s.opts.Client.MaxAttempts {
			r.s.putBuf(pooled)
			return part{err: transfer.Retriable(fmt.Errorf("s3://%s/%s: reading bytes %d-%d, %d attempts: %w",
				r.s.bucket, r.obj.Key, off, off+int64(len(buf))-1, attempt, err))}
		}
		if err := r.backoff(attempt); err != nil {
			r.s.putBuf(pooled)
			return part{err: err}
		}
	}
}

// readInto reads the rest of buf, from *resp or else from a ranged GET of
// the bytes still missing, and advances *got; sum, when not nil, is fed
// every byte read.
func (r *Reader) readInto(resp **response, off int64, buf []byte, got *int, sum *checksum) error {
	if *resp == nil {
		var err error
		if *resp, err = r.get(r.ctx, unit{off: off + int64(*got), n: int64(len(buf) - *got)}); err != nil {
			return requestFailed{err}
		}
	}
	n, err := readBody((*resp).out, buf[*got:], sum)
	*resp = nil
	*got += n
	return err
}

// requestFailed is a GET the SDK gave up on after its own attempts: the
// body loop does not try it again, or the two retry levels would multiply
// (MaxAttempts squared stalls before a dead endpoint is reported).
type requestFailed struct{ err error }

func (e requestFailed) Error() string { return e.err.Error() }
func (e requestFailed) Unwrap() error { return e.err }

// bodyWindow is how much of a body is read before the checksum takes it:
// little enough to be still in the CPU's cache, where a pass over the
// whole unit afterwards would read every byte from memory again.
const bodyWindow = 256 << 10

// readBody reads exactly len(buf) bytes, feeding sum (when not nil) as
// they come, and then the end of the body, which must come there. It
// always closes the body.
func readBody(out *s3.GetObjectOutput, buf []byte, sum *checksum) (int, error) {
	defer out.Body.Close()
	n := 0
	for n < len(buf) {
		k, err := io.ReadFull(out.Body, buf[n:min(n+bodyWindow, len(buf))])
		if sum != nil {
			sum.add(buf[n : n+k])
		}
		n += k
		if err != nil {
			return n, err
		}
	}
	// An error after the last byte (a reset instead of EOF) loses
	// nothing: the checksum, or else the BLAKE3, covers what was read.
	var one [1]byte
	if m, _ := out.Body.Read(one[:]); m > 0 {
		return n, fmt.Errorf("%w (the body is longer than expected)", ErrChanged)
	}
	return n, nil
}

// backoff waits before the next attempt: 50ms doubling, at most MaxBackoff.
func (r *Reader) backoff(attempt int) error {
	d := min(50*time.Millisecond<<min(attempt, 20), r.s.opts.Client.MaxBackoff)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}

func trimQuotes(s string) string { return strings.Trim(s, `"`) }
