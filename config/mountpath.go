package config

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// fsLocation says where a resolved path lies inside its file system: the
// device (major:minor) and the path below that file system's root. A bind
// mount shows one directory under two paths; both give the same location,
// so a destination bind-mounted from a directory inside the source is seen
// nested although neither its path nor its ancestors' inodes tell. ok is
// false where /proc/self/mountinfo cannot be read.
type fsLocation struct {
	dev, path string
}

// mountEntry is one line of /proc/self/mountinfo that matters here.
type mountEntry struct{ dev, root, point string }

// readMounts lists the mounts of this process, in mount order (a later
// mount on the same point hides an earlier one).
func readMounts() []mountEntry {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []mountEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		// id parent major:minor root mount-point options ...
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		out = append(out, mountEntry{dev: fields[2], root: unescapeMount(fields[3]), point: unescapeMount(fields[4])})
	}
	return out
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// locate finds the file-system location of the resolved path real: the
// mount with the longest mount point above it, the last one mounted there.
func locate(mounts []mountEntry, real string) (fsLocation, bool) {
	best := -1
	for i, m := range mounts {
		if (real == m.point || strings.HasPrefix(real, strings.TrimSuffix(m.point, "/")+"/")) &&
			(best < 0 || len(m.point) >= len(mounts[best].point)) {
			best = i
		}
	}
	if best < 0 {
		return fsLocation{}, false
	}
	m := mounts[best]
	rel, err := filepath.Rel(m.point, real)
	if err != nil {
		return fsLocation{}, false
	}
	return fsLocation{dev: m.dev, path: filepath.Join(m.root, rel)}, true
}
