package send

import (
	"bytes"
	"context"
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
		return fmt.Errorf("size is %d, source has %d", got.Size, m.Size)
	}
	if !got.ModTime.IsZero() && got.ModTime.Sub(m.ModTime).Abs() >= time.Second {
		return fmt.Errorf("mtime is %s, source has %s", got.ModTime.Format(time.RFC3339Nano), m.ModTime.Format(time.RFC3339Nano))
	}
	if len(got.Hash) > 0 && len(m.Hash) > 0 && !bytes.Equal(got.Hash, m.Hash) {
		return fmt.Errorf("stored BLAKE3 %x differs from the source's %x", got.Hash, m.Hash)
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
		return fmt.Errorf("content BLAKE3 %x differs from the source's %x", sum, m.Hash)
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
