package manifest

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// lockOwner guesses which process holds the flock on path from /proc/locks,
// so the "in use" error can name it. It returns 0 when it cannot tell; the
// answer is a hint only (the pid may have been reused).
func lockOwner(path string) int {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0
	}
	f, err := os.Open("/proc/locks")
	if err != nil {
		return 0
	}
	defer f.Close()
	// Lines look like: "1: FLOCK  ADVISORY  WRITE 1234 00:2b:56789 0 EOF";
	// waiters carry "->" after the index.
	dev := fmt.Sprintf("%02x:%02x:%d", unixMajor(st.Dev), unixMinor(st.Dev), st.Ino)
	ino := ":" + strconv.FormatUint(st.Ino, 10)
	byIno, inoMatches := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[1] != "FLOCK" {
			continue
		}
		pid, err := strconv.Atoi(fields[4])
		if err != nil {
			continue
		}
		if fields[5] == dev {
			return pid
		}
		// Overlay and some network file systems report another device.
		if strings.HasSuffix(fields[5], ino) {
			byIno, inoMatches = pid, inoMatches+1
		}
	}
	if inoMatches == 1 {
		return byIno
	}
	return 0
}

// unixMajor and unixMinor split a Linux dev_t as the kernel does.
func unixMajor(dev uint64) uint64 {
	return (dev>>8)&0xfff | (dev>>32)&^0xfff
}

func unixMinor(dev uint64) uint64 {
	return dev&0xff | (dev>>12)&^0xff
}
