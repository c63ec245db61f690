package manifest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrBusy means a consistent snapshot could not be taken because the
// manifest kept changing while it was copied.
var ErrBusy = errors.New("the agent holding it committed during every snapshot attempt; try again")

// snapshotAttempts bounds the copies Snapshot tries before giving up.
const snapshotAttempts = 8

// Snapshot copies the manifest at src to dst (created 0600, replaced if it
// exists) without taking its lock, so inspection (verify, dry runs) works
// while an agent holds the manifest, and never blocks that agent.
//
// Why the copy is consistent: bbolt never overwrites a page reachable from
// its newest committed meta page (copy-on-write), and a commit ends by
// writing one of the two meta pages at the start of the file. Snapshot
// reads both meta pages, copies the file, and reads them again; if they did
// not change, no commit finished during the copy, so the copy holds every
// page the newest meta page refers to, intact. Pages a later, unfinished
// transaction wrote are not reachable from that meta page. If a commit did
// land, it tries again, up to a few times, and then fails with ErrBusy.
func Snapshot(ctx context.Context, src, dst string) error {
	for range snapshotAttempts {
		if err := ctx.Err(); err != nil {
			return err
		}
		ok, err := snapshotOnce(src, dst)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
	_ = os.Remove(dst)
	return fmt.Errorf("manifest %s: %w", src, ErrBusy)
}

// snapshotOnce makes one copy and reports whether it is consistent.
func snapshotOnce(src, dst string) (bool, error) {
	in, err := os.Open(src)
	if err != nil {
		return false, fmt.Errorf("manifest %s: snapshot: %w", src, err)
	}
	defer in.Close()
	before, err := metaPages(in)
	if err != nil {
		return false, fmt.Errorf("manifest %s: snapshot: %w", src, err)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return false, fmt.Errorf("manifest snapshot %s: %w", dst, err)
	}
	_, err = io.Copy(out, io.NewSectionReader(in, 0, 1<<62))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("manifest snapshot of %s into %s: %w", src, dst, err)
	}
	after, err := metaPages(in)
	if err != nil {
		return false, fmt.Errorf("manifest %s: snapshot: %w", src, err)
	}
	return bytes.Equal(before, after), nil
}

// metaPages reads bbolt's two meta pages: page 0 and page 1, of the page
// size recorded in page 0 (offset 24: after the 16-byte page header, the
// magic and the version).
func metaPages(f *os.File) ([]byte, error) {
	head := make([]byte, 32)
	if _, err := f.ReadAt(head, 0); err != nil {
		return nil, fmt.Errorf("read meta page: %w", err)
	}
	ps := binary.LittleEndian.Uint32(head[24:28])
	if ps < 512 || ps > 1<<20 || ps&(ps-1) != 0 {
		return nil, fmt.Errorf("%w: page size %d in the meta page", ErrCorrupt, ps)
	}
	b := make([]byte, 2*int(ps))
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("read meta pages: %w", err)
	}
	return b, nil
}
