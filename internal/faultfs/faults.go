package faultfs

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// SetQuota limits the total size of regular files under the backing
// directory to bytes: a write that would grow the total past it fails with
// ENOSPC. The current usage is measured now by walking the backing tree,
// then tracked as files grow, shrink and are removed through the mount. A
// negative value removes the quota.
func (f *FS) SetQuota(bytes int64) error {
	f.quotaMu.Lock()
	defer f.quotaMu.Unlock()
	if bytes < 0 {
		f.quota = -1
		f.hasQuota.Store(false)
		return nil
	}
	var used int64
	err := filepath.WalkDir(f.backing, func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			used += info.Size()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("faultfs: measure usage of %s: %w", f.backing, err)
	}
	f.quota, f.used = bytes, used
	f.hasQuota.Store(true)
	return nil
}

// FailWrites makes every later write, fsync and dirty flush fail with err,
// like a server that lost its storage. FailWrites(0) restores normal
// behaviour.
func (f *FS) FailWrites(err syscall.Errno) { f.failErr.Store(int64(err)) }

// FailAfter lets n more bytes be written, then makes writes, fsyncs and
// dirty flushes fail with EIO, to interrupt a transfer in the middle of a
// file. A write that would cross the limit fails whole. A negative n
// disarms it.
func (f *FS) FailAfter(n int64) { f.failAfter.Store(n) }

// ClearFaults removes the quota and every injected error.
func (f *FS) ClearFaults() {
	f.FailWrites(0)
	f.FailAfter(-1)
	f.ops.clear()
	_ = f.SetQuota(-1)
}

// writeFault returns the error an injected fault imposes on a write of n
// bytes (n = 0 for fsync and flush), or 0.
func (f *FS) writeFault(n int64) syscall.Errno {
	if e := f.failErr.Load(); e != 0 {
		return syscall.Errno(e)
	}
	for {
		left := f.failAfter.Load()
		if left < 0 {
			return 0
		}
		if n == 0 {
			if left == 0 {
				return syscall.EIO
			}
			return 0
		}
		if n > left {
			f.failAfter.Store(0)
			return syscall.EIO
		}
		if f.failAfter.CompareAndSwap(left, left-n) {
			return 0
		}
	}
}

// reserve accounts growth bytes against the quota, or reports ENOSPC.
func (f *FS) reserve(growth int64) syscall.Errno {
	if !f.hasQuota.Load() || growth == 0 {
		return 0
	}
	f.quotaMu.Lock()
	defer f.quotaMu.Unlock()
	if f.quota < 0 {
		return 0
	}
	if growth > 0 && f.used+growth > f.quota {
		return syscall.ENOSPC
	}
	f.used += growth
	if f.used < 0 {
		f.used = 0
	}
	return 0
}
