//go:build race

package s3src

// mapBuf, under the race detector, allocates on the Go heap: the detector
// does not see memory mapped outside it, and a part buffer used after its
// release is exactly what it should catch in tests.
func mapBuf(size int) ([]byte, error) { return make([]byte, size), nil }

// unmapBuf drops a heap buffer to the garbage collector.
func unmapBuf([]byte) {}
