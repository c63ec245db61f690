package s3src

// partBuf returns a buffer of n bytes for one fetched unit, and the pooled
// buffer to give back on Release (nil when n is not a pooled size). A large
// restore fetches hundreds of PartSize units; fresh buffers cost a page
// fault per 4 KiB and a clear of every byte (measured on 2 x 256 MiB: a
// third of the restore's CPU was system time), so buffers of exactly
// PartSize are reused. Other sizes (the last range of an object, a small
// object, a multipart part of another length) are allocated as before.
func (s *Source) partBuf(n int64) ([]byte, *[]byte) {
	if n != s.opts.PartSize {
		return make([]byte, n), nil
	}
	b := s.parts.Get()
	return (*b)[:n], b
}

// putBuf gives back a buffer from partBuf once nothing reads it any more.
func (s *Source) putBuf(b *[]byte) {
	if b != nil {
		s.parts.Put(b)
	}
}
