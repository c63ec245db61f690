package send

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/zeebo/blake3"

	"github.com/efssync/efssync/transfer"
)

// VerifyAt compares what d holds under rel with m: size and mtime, the
// stored BLAKE3 where the destination keeps one, and with content the
// BLAKE3 of the bytes read back.
func VerifyAt(ctx context.Context, d transfer.Destination, rel string, m transfer.Meta, content bool) error {
	got, err := d.Stat(ctx, rel)
	if err != nil {
		return err
	}
	if got.Size != m.Size {
		return Differs(fmt.Sprintf("size is %d, source has %d", got.Size, m.Size))
	}
	if !got.ModTime.IsZero() && got.ModTime.Sub(m.ModTime).Abs() >= time.Second {
		return Differs(fmt.Sprintf("mtime is %s, source has %s", got.ModTime.Format(time.RFC3339Nano), m.ModTime.Format(time.RFC3339Nano)))
	}
	if len(got.Hash) > 0 && len(m.Hash) > 0 && !bytes.Equal(got.Hash, m.Hash) {
		return Differs(fmt.Sprintf("stored BLAKE3 %x differs from the source's %x", got.Hash, m.Hash))
	}
	if !content {
		return nil
	}
	op, ok := transfer.As[transfer.Opener](d)
	if !ok {
		return nil
	}
	sum, err := HashOpened(ctx, op, rel)
	if err != nil {
		return err
	}
	if !bytes.Equal(sum[:], m.Hash) {
		return Differs(fmt.Sprintf("content BLAKE3 %x differs from the source's %x", sum, m.Hash))
	}
	return nil
}

// HashOpened is the BLAKE3 of what op holds under rel.
func HashOpened(ctx context.Context, op transfer.Opener, rel string) ([32]byte, error) {
	r, err := op.Open(ctx, rel)
	if err != nil {
		return [32]byte{}, err
	}
	defer r.Close()
	sum, err := HashAll(r)
	if err != nil {
		return sum, fmt.Errorf("read back %s: %w", rel, err)
	}
	return sum, nil
}

// HashAll is the BLAKE3 of everything r holds.
func HashAll(r io.Reader) ([32]byte, error) {
	var sum [32]byte
	h := blake3.New()
	if _, err := io.CopyBuffer(h, r, make([]byte, 256<<10)); err != nil {
		return sum, err
	}
	h.Sum(sum[:0])
	return sum, nil
}

// Difference is what VerifyAt returns when it read the destination and
// found it differs from the source, as opposed to an error reading it (an
// authorization failure, an unreachable endpoint): `efssync verify` counts
// the two apart, since repairing a difference helps and re-sending into an
// error does not.
type Difference struct{ What string }

func (d *Difference) Error() string { return d.What }

// Differs returns a Difference saying what differs.
func Differs(what string) error { return &Difference{What: what} }

// IsDifference reports whether err (or what it wraps) is a Difference.
func IsDifference(err error) bool {
	var d *Difference
	return errors.As(err, &d)
}
