//go:build !race

package s3src

import "golang.org/x/sys/unix"

// mapBuf maps size bytes outside the Go heap and asks for 2 MiB pages
// (MADV_HUGEPAGE is a hint: without it the buffer works on 4 KiB pages).
func mapBuf(size int) ([]byte, error) {
	m, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, err
	}
	_ = unix.Madvise(m, unix.MADV_HUGEPAGE)
	return m, nil
}

// unmapBuf gives a buffer from mapBuf back to the kernel.
func unmapBuf(b []byte) { _ = unix.Munmap(b) }
