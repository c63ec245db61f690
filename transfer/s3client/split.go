package s3client

// piecesPerSlot is how many pieces Split aims to cut an object into for
// each slot of part concurrency. One connection carries a bounded rate
// (about 90 MB/s on EC2), so an object moves faster on more of them; the
// bytes in flight stay partSize × concurrency whatever the cut. The
// archive and restore of large objects in docs/BENCHMARKS.md (S3 through
// a network model) were measured with it.
const piecesPerSlot = 2

// Split is how an object of size bytes moves in pieces, parts of an upload
// or ranges of a download: about piecesPerSlot × concurrency pieces of
// whole MiB, at least floor and at most partSize, and as many of them in
// flight at once as InFlight allows. Uploads and restores cut alike, so a
// restore of an archived object reads it on as many connections as it was
// written with.
func Split(partSize int64, concurrency int, size, floor int64) (piece int64, inFlight int) {
	const mib = 1 << 20
	slots := int64(piecesPerSlot * max(concurrency, 1))
	want := (size + slots - 1) / slots
	piece = min(max((want+mib-1)/mib*mib, floor), partSize)
	return piece, InFlight(partSize, concurrency, piece)
}

// InFlight is how many pieces of piece bytes fit in partSize × concurrency
// bytes, and never fewer than concurrency (a piece larger than partSize).
func InFlight(partSize int64, concurrency int, piece int64) int {
	if piece <= 0 {
		return concurrency
	}
	return max(concurrency, int(partSize*int64(concurrency)/piece))
}
