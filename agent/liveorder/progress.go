package liveorder

import (
	"context"
	"slices"

	"github.com/efssync/efssync/transfer"
)

// Progress wraps a destination that writes files in place (progressive
// publish) so that report learns, after each acknowledged write, how many
// leading bytes of the file are there: a manifest naming byte ranges of a
// file that is still growing (HLS single_file) may be served once they
// are. report(rel, 0) means the file was started over (truncated).
//
// Only wrap a destination whose writes land under the final name: for a
// temp-file-and-rename destination the bytes are not visible until Commit,
// and reporting them would let a manifest out too early.
func Progress(d transfer.Destination, report func(rel string, n int64)) transfer.Destination {
	return &progressDest{Destination: d, report: report}
}

type progressDest struct {
	transfer.Destination
	report func(rel string, n int64)
}

// Unwrap lets callers reach the inner destination's optional abilities,
// none of which write file bytes.
func (p *progressDest) Unwrap() transfer.Destination { return p.Destination }

func (p *progressDest) Begin(ctx context.Context, rel string, m transfer.Meta, resume *transfer.Checkpoint) (transfer.Upload, error) {
	// Reported before Begin, which truncates the file in place: the gate
	// must not count its old bytes while they go. A failed Begin leaves the
	// gate holding manifests back, the safe side.
	p.report(rel, 0)
	u, err := p.Destination.Begin(ctx, rel, m, resume)
	if err != nil {
		return nil, err
	}
	return &progressUpload{Upload: u, rel: rel, report: p.report}, nil
}

type progressUpload struct {
	transfer.Upload
	rel    string
	end    int64 // contiguous bytes acknowledged from 0
	report func(rel string, n int64)
}

func (u *progressUpload) Write(ctx context.Context, off int64, p []byte) error {
	if err := u.Upload.Write(ctx, off, p); err != nil {
		return err
	}
	if off <= u.end && off+int64(len(p)) > u.end {
		u.end = off + int64(len(p))
		// An all-zero chunk may be left as a hole that the file's size
		// does not cover until Commit (fsdest keeps sparse files sparse),
		// so it counts only once a later write lands beyond it.
		if slices.ContainsFunc(p, func(b byte) bool { return b != 0 }) {
			u.report(u.rel, u.end)
		}
	}
	return nil
}

// Flush passes through to the inner upload (multipart uploads flush parts
// in flight at shutdown).
func (u *progressUpload) Flush(ctx context.Context) error { return transfer.Flush(ctx, u.Upload) }
