package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/efssync/efssync/agent/policy"
	"github.com/efssync/efssync/agent/walk"

	"github.com/efssync/efssync/agent/send"
	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/s3dest"
)

// Archiving deletes the only other copy of a file, so what the destinations
// hold is compared with the source's content as it is now, never only with
// the hash the manifest recorded: a record can describe bytes the writer
// has since rewritten (issue 11, D1).

// storedChecksummer is a destination that can name the checksum it
// computed over the stored bytes (S3), so a copy is checked against the
// source without a download even under verify: transferred, where the
// size and the BLAKE3 in the metadata prove nothing (metadata is copied
// along with an object).
type storedChecksummer interface {
	Checksum(ctx context.Context, rel string) (s3dest.StoredChecksum, error)
	PartSizeFor(size int64) int64
	ConfiguredPartSize() int64
}

// errArchiveDiffers means the source's content is not what the manifest
// recorded as published.
var errArchiveDiffers = errors.New("the source's content differs from what was recorded as published")

// archivedSource opens the source file of t without following symlinks,
// checks it is still the file the plan saw, and hashes its content. The
// caller closes the file.
func (j *jobRun) archivedSource(t task) (*os.File, [32]byte, error) {
	var sum [32]byte
	f, err := walk.Open(t.e.Abs())
	if err != nil {
		return nil, sum, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, sum, fmt.Errorf("stat %s: %w", t.e.Abs(), err)
	}
	now := walk.StatOf(fi)
	if !fi.Mode().IsRegular() || !policy.SourceUnchanged(policy.FileIdentity(t.st, t.e.Mode), policy.FileIdentity(now, fi.Mode())) {
		f.Close()
		return nil, sum, fmt.Errorf("%s: %w since it was planned", t.e.Abs(), ErrChanged)
	}
	sum, err = send.HashAll(io.NewSectionReader(f, 0, t.st.Size))
	if err != nil {
		f.Close()
		return nil, sum, fmt.Errorf("read %s: %w", t.e.Abs(), err)
	}
	return f, sum, nil
}

// verifyStored compares the checksum d computed over its stored copy of
// rel with one computed from src. It reports false, nil when d keeps no
// such checksum or its part layout is unknown (a composite checksum that
// matches no layout d would have used): the caller reads the copy back
// instead.
func verifyStored(ctx context.Context, d transfer.Destination, rel string, src io.ReaderAt, size int64) (bool, error) {
	cs, ok := transfer.As[storedChecksummer](d)
	if !ok {
		return false, nil
	}
	stored, err := cs.Checksum(ctx, rel)
	if errors.Is(err, s3dest.ErrNoChecksum) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, part := range []int64{cs.PartSizeFor(size), cs.ConfiguredPartSize()} {
		got, err := s3dest.Compute(src, size, stored, part)
		switch {
		case err != nil:
			continue // another part count (a resumed upload): try the next
		case got == stored.Value:
			return true, nil
		case stored.Full:
			return false, fmt.Errorf("stored %s %s differs from the source's %s", stored.Algorithm, stored.Value, got)
		}
		// A composite checksum depends on where the parts end, which the
		// part count does not fix: an upload in parts of another size
		// (part_size changed before a resume) differs here although it
		// holds the source's bytes. Only the copy read back can tell.
	}
	return false, nil
}

// verifyArchived checks one destination's copy of t against the source's
// content (src, whose BLAKE3 is sum): the stored checksum where the
// destination keeps one, else the copy read back when verify is all or the
// destination keeps no hash.
func (j *jobRun) verifyArchived(ctx context.Context, d transfer.Destination, t task, src io.ReaderAt, sum [32]byte) error {
	m := transfer.Meta{Size: t.st.Size, ModTime: t.st.Mtime, Hash: sum[:]}
	got, err := d.Stat(ctx, t.e.Rel)
	if err != nil {
		return err
	}
	content := j.job.Verify == "all" || len(got.Hash) == 0
	if !content {
		checked, err := verifyStored(ctx, d, t.e.Rel, src, t.st.Size)
		if err != nil {
			return err
		}
		content = !checked
	}
	return send.VerifyAt(ctx, d, t.e.Rel, m, content)
}
