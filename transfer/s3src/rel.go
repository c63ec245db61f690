package s3src

import (
	"errors"
	"fmt"
	"strings"
)

// MaxNameLen is the longest path component Linux file systems (ext4, XFS,
// NFS, EFS) accept, in bytes.
const MaxNameLen = 255

// ErrBadKey marks an object whose key cannot be a relative file path. It is
// an error for that object only; the listing goes on.
var ErrBadKey = errors.New("key cannot be a file name")

// RelPath maps an object key below prefix (which ends in "/" or is empty)
// to the relative path it restores to. Keys whose remainder is empty or
// ends in "/" are directory markers made by other tools: ok is false and
// err nil. A key that cannot be a file name (an empty, "." or ".."
// component, a NUL byte, a component longer than MaxNameLen bytes) gives
// an error wrapping ErrBadKey and naming the key.
func RelPath(prefix, key string) (rel string, ok bool, err error) {
	rel, found := strings.CutPrefix(key, prefix)
	if !found {
		return "", false, fmt.Errorf("s3 key %q: not below the prefix %q: %w", key, prefix, ErrBadKey)
	}
	if rel == "" || strings.HasSuffix(rel, "/") {
		return "", false, nil
	}
	if strings.IndexByte(rel, 0) >= 0 {
		return "", false, fmt.Errorf("s3 key %q: contains a NUL byte: %w", key, ErrBadKey)
	}
	for c := range strings.SplitSeq(rel, "/") {
		switch {
		case c == "":
			return "", false, fmt.Errorf("s3 key %q: has an empty path component (\"//\" or a leading \"/\"): %w", key, ErrBadKey)
		case c == "." || c == "..":
			return "", false, fmt.Errorf("s3 key %q: has a %q path component: %w", key, c, ErrBadKey)
		case len(c) > MaxNameLen:
			return "", false, fmt.Errorf("s3 key %q: a path component is %d bytes, file names have at most %d: %w", key, len(c), MaxNameLen, ErrBadKey)
		}
	}
	return rel, true, nil
}
