package s3src

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/efssync/efssync/transfer"
)

// fetch fills buf with the bytes at off. resp, when not nil, is a response
// already received for exactly that range (or the whole object). The SDK
// retries a request that fails; a body that breaks off midway (a reset, a
// stall cut by the stall timeout) is continued here with a GET of the
// bytes still missing, up to MaxAttempts times.
func (r *Reader) fetch(off int64, buf []byte, resp *s3.GetObjectOutput) error {
	got := 0
	for attempt := 1; ; attempt++ {
		var err error
		if resp == nil {
			resp, err = r.get(r.ctx, off+int64(got), int64(len(buf)-got), false)
			if err != nil {
				return err
			}
		}
		n, err := readBody(resp, buf[got:])
		resp = nil
		got += n
		if err == nil {
			return nil
		}
		if r.ctx.Err() != nil || errors.Is(err, ErrChanged) {
			return err
		}
		if attempt >= r.s.opts.MaxAttempts {
			return transfer.Retriable(fmt.Errorf("s3://%s/%s: reading bytes %d-%d, %d attempts: %w",
				r.s.bucket, r.obj.Key, off, off+int64(len(buf))-1, attempt, err))
		}
		if err := r.backoff(attempt); err != nil {
			return err
		}
	}
}

// readBody reads exactly len(buf) bytes and then the end of the body, so
// that the SDK's checksum validation of a whole-object GET, which runs at
// EOF, reports a mismatch. It always closes the body.
func readBody(resp *s3.GetObjectOutput, buf []byte) (int, error) {
	defer resp.Body.Close()
	n, err := io.ReadFull(resp.Body, buf)
	if err != nil {
		return n, err
	}
	var one [1]byte
	switch m, err := resp.Body.Read(one[:]); {
	case m > 0:
		return n, fmt.Errorf("%w (the body is longer than expected)", ErrChanged)
	case err == io.EOF:
		return n, nil
	case err != nil:
		// A checksum mismatch: the bytes are wrong, read them again.
		if strings.Contains(err.Error(), "checksum") {
			return 0, err
		}
		return n, err
	}
	return n, nil
}

// backoff waits before the next attempt: 50ms doubling, at most MaxBackoff.
func (r *Reader) backoff(attempt int) error {
	d := min(50*time.Millisecond<<min(attempt, 20), r.s.opts.MaxBackoff)
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
