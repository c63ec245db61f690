package follow

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// OpenForWriting reports whether a process holds the file dev/ino open
// for writing, from /proc. A restarted watch agent has seen no event of a
// file found in its first pass: a recording still open for writing is
// followed (and its upload resumed), one closed while the agent was down
// is copied as finished at once rather than after quiet. Where /proc is
// not readable, it reports false: the file is copied as a finished one,
// which is safe, only costlier when the file still grows.
func OpenForWriting(dev, ino uint64) bool {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		fds, err := os.ReadDir(filepath.Join("/proc", p.Name(), "fd"))
		if err != nil {
			continue // gone, or not ours to see
		}
		for _, fd := range fds {
			var st syscall.Stat_t
			if syscall.Stat(filepath.Join("/proc", p.Name(), "fd", fd.Name()), &st) != nil ||
				st.Ino != ino || uint64(st.Dev) != dev {
				continue
			}
			if writable(filepath.Join("/proc", p.Name(), "fdinfo", fd.Name())) {
				return true
			}
		}
	}
	return false
}

// writable reads an fdinfo file's octal flags: O_WRONLY or O_RDWR.
func writable(fdinfo string) bool {
	b, err := os.ReadFile(fdinfo)
	if err != nil {
		return false
	}
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("flags:")); ok {
			f, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 8, 64)
			return err == nil && f&(syscall.O_WRONLY|syscall.O_RDWR) != 0
		}
	}
	return false
}
