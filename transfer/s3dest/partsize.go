package s3dest

import "github.com/efssync/efssync/transfer"

// PartSizeFor is the part size this destination uses for a new upload of
// a file of size bytes (the configured part_size, raised for a file that
// would need more than S3's 10,000 parts). Compute needs it to recompute a
// composite checksum from the source before an archived file is deleted.
func (d *Dest) PartSizeFor(size int64) int64 { return partSizeFor(d.opts.PartSize, size) }

// ConfiguredPartSize is the part_size as configured: the part size of an
// upload begun while its file's final size was unknown (watch mode).
func (d *Dest) ConfiguredPartSize() int64 { return d.opts.PartSize }

// HashFirst is true for a file that will be a multipart upload: its
// metadata is fixed at CreateMultipartUpload, before any byte is read, so
// the BLAKE3 is in it only when the agent hashed the finished file first.
// A smaller file is one PutObject, whose metadata is set after the bytes
// were hashed on the way.
func (d *Dest) HashFirst(m transfer.Meta) bool {
	return m.Size >= 0 && m.Size >= partSizeFor(d.opts.PartSize, m.Size)
}
