package agent

import (
	"fmt"
	"os"
	"path/filepath"
)

// syncParent makes the directory entry of path durable. The run marker
// carries no data, only its name: a power cut that loses the name makes
// the next run believe the last one ended cleanly, and skip the clean-up
// of its temp files (found by the watch-mode power cuts).
func syncParent(path string) error {
	dir := filepath.Dir(path)
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}
