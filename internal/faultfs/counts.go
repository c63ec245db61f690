package faultfs

import (
	"encoding/json"
	"fmt"
	"os"
)

// Names of the extra counters reported by Counts beside the operations.
const (
	CountReadBytes  = "read_bytes"
	CountWriteBytes = "write_bytes"
	CountDelayNanos = "delay_ns"
)

// Counts returns a snapshot of the operation counters, keyed by operation
// name ("lookup", "create", "write", ...), plus read_bytes, write_bytes and
// delay_ns (the sum of all delays applied).
func (f *FS) Counts() map[string]int64 {
	m := make(map[string]int64, numOps+3)
	for i := range numOps {
		m[opInfo[i].name] = f.counts[i].Load()
	}
	m[CountReadBytes] = f.readBytes.Load()
	m[CountWriteBytes] = f.writeBytes.Load()
	m[CountDelayNanos] = f.delayNanos.Load()
	return m
}

// ResetCounts zeroes every counter, so a benchmark can measure one tool run
// on a long-lived mount.
func (f *FS) ResetCounts() {
	for i := range numOps {
		f.counts[i].Store(0)
	}
	f.readBytes.Store(0)
	f.writeBytes.Store(0)
	f.delayNanos.Store(0)
}

// WriteCounts writes Counts as a JSON object to path, atomically (through a
// temporary file and a rename), so a reader polling for the file never sees
// it half written.
func (f *FS) WriteCounts(path string) error {
	data, err := json.MarshalIndent(f.Counts(), "", "  ")
	if err != nil {
		return fmt.Errorf("faultfs: encode counts: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("faultfs: write counts %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("faultfs: publish counts %s: %w", path, err)
	}
	return nil
}
