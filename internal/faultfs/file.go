package faultfs

import (
	"context"
	"sync/atomic"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// file wraps a loopback file handle. It deliberately does not implement
// fs.FilePassthroughFder: kernel passthrough would send reads and writes
// straight to the backing file, bypassing the latency and the faults.
type file struct {
	fs    *FS
	inner fs.FileHandle
	// dirty is set by a successful write and cleared by flush and fsync.
	dirty atomic.Bool
}

func (f *file) Read(ctx context.Context, buf []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	f.fs.enter(ctx, opRead)
	if errno := f.fs.ops.fault(opRead); errno != 0 {
		return nil, errno
	}
	res, errno := f.inner.(fs.FileReader).Read(ctx, buf, off)
	if errno == 0 && res != nil {
		f.fs.readBytes.Add(int64(res.Size()))
	}
	return res, errno
}

func (f *file) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	f.fs.enter(ctx, opWrite)
	if errno := f.fs.ops.fault(opWrite); errno != 0 {
		return 0, errno
	}
	if errno := f.fs.power.change(); errno != 0 {
		return 0, errno
	}
	if errno := f.fs.writeFault(int64(len(data))); errno != 0 {
		return 0, errno
	}
	w := f.inner.(fs.FileWriter)
	var (
		n     uint32
		errno syscall.Errno
	)
	if f.fs.hasQuota.Load() {
		n, errno = f.quotaWrite(ctx, w, data, off)
	} else {
		n, errno = w.Write(ctx, data, off)
	}
	if n > 0 {
		f.fs.writeBytes.Add(int64(n))
		f.dirty.Store(true)
	}
	return n, errno
}

// quotaWrite performs a write under the quota lock, refusing it with ENOSPC
// if the growth of the file would exceed the quota.
func (f *file) quotaWrite(ctx context.Context, w fs.FileWriter, data []byte, off int64) (uint32, syscall.Errno) {
	f.fs.quotaMu.Lock()
	defer f.fs.quotaMu.Unlock()
	var out fuse.AttrOut
	if errno := f.inner.(fs.FileGetattrer).Getattr(ctx, &out); errno != 0 {
		return 0, errno
	}
	size := int64(out.Size)
	growth := max(0, off+int64(len(data))-size)
	if f.fs.quota >= 0 && f.fs.used+growth > f.fs.quota {
		return 0, syscall.ENOSPC
	}
	n, errno := w.Write(ctx, data, off)
	if f.fs.quota >= 0 {
		f.fs.used += max(0, off+int64(n)-size)
	}
	return n, errno
}

func (f *file) Flush(ctx context.Context) syscall.Errno {
	f.fs.counts[opFlush].Add(1)
	if f.dirty.Swap(false) {
		f.fs.delay(ctx, opFlush)
		if errno := f.fs.writeFault(0); errno != 0 {
			return errno
		}
	}
	return f.inner.(fs.FileFlusher).Flush(ctx)
}

func (f *file) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	f.fs.enter(ctx, opFsync)
	if errno := f.fs.ops.fault(opFsync); errno != 0 {
		return errno
	}
	if errno := f.fs.power.change(); errno != 0 {
		return errno
	}
	f.dirty.Store(false)
	if errno := f.fs.writeFault(0); errno != 0 {
		return errno
	}
	if errno := f.inner.(fs.FileFsyncer).Fsync(ctx, flags); errno != 0 || f.fs.power == nil {
		return errno
	}
	fder, ok := f.inner.(fs.FilePassthroughFder)
	if !ok {
		return syscall.EIO
	}
	fd, _ := fder.PassthroughFd()
	if err := f.fs.power.syncFile(fd); err != nil {
		return fs.ToErrno(err)
	}
	return 0
}

func (f *file) Release(ctx context.Context) syscall.Errno {
	f.fs.enter(ctx, opRelease)
	return f.inner.(fs.FileReleaser).Release(ctx)
}

func (f *file) Lseek(ctx context.Context, off uint64, whence uint32) (uint64, syscall.Errno) {
	f.fs.enter(ctx, opLseek)
	return f.inner.(fs.FileLseeker).Lseek(ctx, off, whence)
}

func (f *file) Allocate(ctx context.Context, off, size uint64, mode uint32) syscall.Errno {
	f.fs.enter(ctx, opAllocate)
	if errno := f.fs.power.change(); errno != 0 {
		return errno
	}
	if errno := f.fs.writeFault(0); errno != 0 {
		return errno
	}
	return f.inner.(fs.FileAllocater).Allocate(ctx, off, size, mode)
}
