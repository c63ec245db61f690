package agent

import (
	"fmt"
	"os"
)

// syncDir makes the entries of the directory dir durable: a file created
// in it (the run marker, a new manifest) survives a power cut only once
// its directory entry was fsynced, not merely the file.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s for fsync: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}
