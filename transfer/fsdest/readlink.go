package fsdest

import (
	"context"
	"fmt"
	"path"

	"golang.org/x/sys/unix"
)

// Readlink returns the target of the symlink published at rel, so that
// verify notices a link whose target changed at the source. The link's
// directory is resolved below the root without following a symlink, and
// the link itself is read, never followed.
func (d *Dest) Readlink(_ context.Context, rel string) (string, error) {
	p, err := d.abs(rel)
	if err != nil {
		return "", err
	}
	dir, err := d.openBeneathRoot(path.Dir(rel), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return "", fmt.Errorf("readlink %s: %w", p, classify(err))
	}
	defer unix.Close(dir)
	buf := make([]byte, 4096)
	for {
		n, err := unix.Readlinkat(dir, path.Base(rel), buf)
		if err != nil {
			return "", fmt.Errorf("readlink %s: %w", p, classify(err))
		}
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		buf = make([]byte, 2*len(buf))
	}
}
