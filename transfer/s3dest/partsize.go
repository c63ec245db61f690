package s3dest

// PartSizeFor is the part size this destination uses for a new upload of
// a file of size bytes (the configured part_size, raised for a file that
// would need more than S3's 10,000 parts). Compute needs it to recompute a
// composite checksum from the source before an archived file is deleted.
func (d *Dest) PartSizeFor(size int64) int64 { return partSizeFor(d.opts.PartSize, size) }

// ConfiguredPartSize is the part_size as configured: the part size of an
// upload begun while its file's final size was unknown (watch mode).
func (d *Dest) ConfiguredPartSize() int64 { return d.opts.PartSize }
