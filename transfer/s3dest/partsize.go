package s3dest

import (
	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/s3client"
)

// partPlan is how a new upload of a file of size bytes is cut: its part
// size, and how many parts may be in flight at once.
//
//   - A file of unknown size (still growing) or smaller than configured
//     (one PutObject) keeps configured and concurrency.
//   - A file that needs more than S3's 10,000 parts gets the next MiB part
//     size that fits, with concurrency parts in flight.
//   - Any other file is cut by s3client.Split: parts of at least 5 MiB
//     (S3's minimum) and at most configured, as many of them in flight as
//     fit in configured × concurrency bytes.
func partPlan(configured int64, concurrency int, size int64) (partSize int64, inFlight int) {
	const mib = 1 << 20
	if size < configured {
		return configured, concurrency
	}
	if size > configured*maxParts {
		need := (size + maxParts - 1) / maxParts
		return min((need+mib-1)/mib*mib, MaxPartSize), concurrency
	}
	return s3client.Split(configured, concurrency, size, MinPartSize)
}

// partSizeFor is partPlan's part size.
func partSizeFor(configured int64, concurrency int, size int64) int64 {
	p, _ := partPlan(configured, concurrency, size)
	return p
}

// PartSizeFor is the part size this destination uses for a new upload of
// a file of size bytes (see partPlan). Compute needs it to recompute a
// composite checksum from the source before an archived file is deleted.
func (d *Dest) PartSizeFor(size int64) int64 {
	return partSizeFor(d.opts.PartSize, d.opts.PartConcurrency, size)
}

// ConfiguredPartSize is the part_size as configured: the part size of an
// upload begun while its file's final size was unknown (watch mode).
func (d *Dest) ConfiguredPartSize() int64 { return d.opts.PartSize }

// HashFirst is true for a file that will be a multipart upload: its
// metadata is fixed at CreateMultipartUpload, before any byte is read, so
// the BLAKE3 is in it only when the agent hashed the finished file first.
// A smaller file is one PutObject, whose metadata is set after the bytes
// were hashed on the way.
func (d *Dest) HashFirst(m transfer.Meta) bool {
	return m.Size >= 0 && m.Size >= d.opts.PartSize
}
