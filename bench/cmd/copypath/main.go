// Command copypath measures what copying and hashing one large file costs
// the CPU under each way efssync could do it, so the choice of copy path
// rests on numbers from the host in question rather than on the count of
// user-space copies. It exists because the obvious improvement, a kernel
// copy (copy_file_range, or sendfile across file systems) with the BLAKE3
// read through a read-only mmap of the source, depends on how much a first
// touch of a mapped page costs, and that differs between hosts by an order
// of magnitude (bare metal and hardware-virtualised guests against
// shadow-paging guests such as PVM).
//
//	copypath -src FILE -dst DIR [-rounds 7] [-chunk 1048576]
//
// The strategies run interleaved, round after round, each writing a fresh
// file in -dst (removed afterwards); every row reports the median CPU time
// (user+sys of the copying thread) and wall time, and the CPU relative to
// the first row, which is what efssync does today. The reference rows show
// the parts: cp -a's kernel copy alone, the read and hash alone, and the
// hash alone over a cache-hot buffer. Use a source already in the page
// cache (read it once) so that disk speed does not hide the CPU.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/zeebo/blake3"
	"golang.org/x/sys/unix"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "copypath:", err)
		os.Exit(1)
	}
}

// strategy copies the source (or only part of the work, for the reference
// rows) and returns the file's BLAKE3, or nil when it does not hash the
// file; every hash must agree.
type strategy struct {
	name string
	fn   func(c *copier) ([]byte, error)
}

var strategies = []strategy{
	{"read+hash+pwrite (efssync today)", (*copier).readHashWrite},
	{"read+hash+kernel copy", (*copier).readHashKernel},
	{"mmap+hash+kernel copy", (*copier).mmapHashKernel},
	{"reference: kernel copy only (cp -a)", (*copier).kernelOnly},
	{"reference: read+hash, no write", (*copier).readHash},
	{"reference: hash of a cache-hot chunk", (*copier).hashOnly},
}

func run() error {
	src := flag.String("src", "", "a large source file, ideally in the page cache (required)")
	dst := flag.String("dst", "", "directory to write the copies in (required)")
	rounds := flag.Int("rounds", 7, "interleaved rounds; medians are reported")
	chunk := flag.Int("chunk", 1<<20, "chunk size in bytes (efssync's chunk_size)")
	flag.Parse()
	if *src == "" || *dst == "" || *rounds < 1 || *chunk < 4096 {
		flag.Usage()
		return errors.New("bad arguments")
	}
	fi, err := os.Stat(*src)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Size() == 0 {
		return fmt.Errorf("%s: not a non-empty regular file", *src)
	}
	// Rusage of the thread, not the process: the runtime's other threads
	// (GC, sysmon) must not blur the comparison.
	runtime.LockOSThread()
	c := &copier{src: *src, dst: filepath.Join(*dst, ".copypath-out"), size: fi.Size(), buf: make([]byte, *chunk)}
	cpu := make([][]time.Duration, len(strategies))
	wall := make([][]time.Duration, len(strategies))
	var want []byte
	for range *rounds {
		for i, s := range strategies {
			c0, w0 := threadCPU(), time.Now()
			sum, err := s.fn(c)
			cpu[i] = append(cpu[i], threadCPU()-c0)
			wall[i] = append(wall[i], time.Since(w0))
			_ = os.Remove(c.dst)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			if sum != nil {
				if want == nil {
					want = sum
				} else if !bytes.Equal(sum, want) {
					return fmt.Errorf("%s: BLAKE3 %x, an earlier strategy had %x", s.name, sum, want)
				}
			}
		}
	}
	fmt.Printf("%s: %d MiB, chunk %d KiB, %d rounds, kernel copy by %s\n", c.src, c.size>>20, *chunk>>10, *rounds, c.how)
	base := median(cpu[0])
	for i, s := range strategies {
		m := median(cpu[i])
		fmt.Printf("%-40s cpu %7.1f ms  wall %7.1f ms  cpu %.2fx\n", s.name, ms(m), ms(median(wall[i])), float64(m)/float64(base))
	}
	return nil
}

// copier holds the source and the reusable chunk buffer.
type copier struct {
	src, dst string
	size     int64
	buf      []byte
	how      string // copy_file_range or sendfile, as the kernel allowed
}

func (c *copier) open() (in, out int, err error) {
	in, err = unix.Open(c.src, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, -1, fmt.Errorf("open %s: %w", c.src, err)
	}
	out, err = unix.Open(c.dst, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o600)
	if err != nil {
		unix.Close(in)
		return -1, -1, fmt.Errorf("create %s: %w", c.dst, err)
	}
	return in, out, nil
}

func closeBoth(in, out int) {
	unix.Close(in)
	unix.Close(out)
}

func (c *copier) readHashWrite() ([]byte, error)  { return c.readHashThen(true, true) }
func (c *copier) readHashKernel() ([]byte, error) { return c.readHashThen(true, false) }
func (c *copier) readHash() ([]byte, error)       { return c.readHashThen(false, false) }

// readHashThen reads each chunk into the buffer and hashes it, then (when
// write) pwrites the buffer or (when not pwrite) copies the same range in
// the kernel.
func (c *copier) readHashThen(write, pwrite bool) ([]byte, error) {
	in, out, err := c.open()
	if err != nil {
		return nil, err
	}
	defer closeBoth(in, out)
	h := blake3.New()
	for off := int64(0); off < c.size; {
		n, err := unix.Pread(in, c.buf, off)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("read %s at %d: %v", c.src, off, err)
		}
		_, _ = h.Write(c.buf[:n])
		switch {
		case write && pwrite:
			if err := pwriteAll(out, c.buf[:n], off); err != nil {
				return nil, err
			}
		case write:
			if err := c.kernelCopy(in, out, off, n); err != nil {
				return nil, err
			}
		}
		off += int64(n)
	}
	return h.Sum(nil), nil
}

// mmapHashKernel copies each chunk in the kernel and hashes it through a
// read-only mapping of the source, populated up front: no user-space copy
// of the data at all.
func (c *copier) mmapHashKernel() ([]byte, error) {
	in, out, err := c.open()
	if err != nil {
		return nil, err
	}
	defer closeBoth(in, out)
	m, err := unix.Mmap(in, 0, int(c.size), unix.PROT_READ, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", c.src, err)
	}
	defer unix.Munmap(m)
	h := blake3.New()
	step := int64(len(c.buf))
	for off := int64(0); off < c.size; off += step {
		n := int(min(step, c.size-off))
		if err := c.kernelCopy(in, out, off, n); err != nil {
			return nil, err
		}
		_, _ = h.Write(m[off : off+int64(n)])
	}
	return h.Sum(nil), nil
}

func (c *copier) kernelOnly() ([]byte, error) {
	in, out, err := c.open()
	if err != nil {
		return nil, err
	}
	defer closeBoth(in, out)
	step := int64(len(c.buf))
	for off := int64(0); off < c.size; off += step {
		if err := c.kernelCopy(in, out, off, int(min(step, c.size-off))); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// hashOnly hashes one chunk, already in the cache, as often as the file
// has chunks: the hash's own cost, without any memory traffic from a copy.
func (c *copier) hashOnly() ([]byte, error) {
	h := blake3.New()
	for off := int64(0); off < c.size; off += int64(len(c.buf)) {
		_, _ = h.Write(c.buf[:min(int64(len(c.buf)), c.size-off)])
	}
	return nil, nil
}

// kernelCopy copies n bytes at off from in to out at the same offset with
// copy_file_range, or with sendfile where the kernel refuses the former
// (across file systems).
func (c *copier) kernelCopy(in, out int, off int64, n int) error {
	if c.how != "sendfile" {
		for n > 0 {
			ro, wo := off, off
			k, err := unix.CopyFileRange(in, &ro, out, &wo, n, 0)
			if err == unix.EINTR {
				continue
			}
			if err == unix.EXDEV || err == unix.EOPNOTSUPP || err == unix.ENOSYS || err == unix.EINVAL {
				c.how = "sendfile"
				break
			}
			if err != nil || k == 0 {
				return fmt.Errorf("copy_file_range at %d: %v (%d bytes)", off, err, k)
			}
			c.how = "copy_file_range"
			n, off = n-k, off+int64(k)
		}
		if n == 0 {
			return nil
		}
	}
	if _, err := unix.Seek(out, off, 0); err != nil {
		return err
	}
	for n > 0 {
		ro := off
		k, err := unix.Sendfile(out, in, &ro, n)
		if err == unix.EINTR {
			continue
		}
		if err != nil || k == 0 {
			return fmt.Errorf("sendfile at %d: %v (%d bytes)", off, err, k)
		}
		n, off = n-k, off+int64(k)
	}
	return nil
}

func pwriteAll(fd int, p []byte, off int64) error {
	for len(p) > 0 {
		n, err := unix.Pwrite(fd, p, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("write at %d: %w", off, err)
		}
		p, off = p[n:], off+int64(n)
	}
	return nil
}

func threadCPU() time.Duration {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_THREAD, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
