package faultfs

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// node is a loopback node that counts and delays every operation before
// handing it to the go-fuse loopback implementation.
type node struct {
	fs.LoopbackNode
	fs *FS
}

var (
	_ fs.NodeLookuper       = (*node)(nil)
	_ fs.NodeGetattrer      = (*node)(nil)
	_ fs.NodeSetattrer      = (*node)(nil)
	_ fs.NodeStatxer        = (*node)(nil)
	_ fs.NodeCreater        = (*node)(nil)
	_ fs.NodeOpener         = (*node)(nil)
	_ fs.NodeOpendirHandler = (*node)(nil)
	_ fs.NodeMkdirer        = (*node)(nil)
	_ fs.NodeMknoder        = (*node)(nil)
	_ fs.NodeRenamer        = (*node)(nil)
	_ fs.NodeUnlinker       = (*node)(nil)
	_ fs.NodeRmdirer        = (*node)(nil)
	_ fs.NodeSymlinker      = (*node)(nil)
	_ fs.NodeLinker         = (*node)(nil)
	_ fs.NodeReadlinker     = (*node)(nil)
	_ fs.NodeStatfser       = (*node)(nil)
	_ fs.NodeSetxattrer     = (*node)(nil)
	_ fs.NodeListxattrer    = (*node)(nil)
	_ fs.NodeRemovexattrer  = (*node)(nil)
	_ fs.NodeCopyFileRanger = (*node)(nil)
	_ fs.NodeGetxattrer     = (*node)(nil)
	_ fs.FileReader         = (*file)(nil)
	_ fs.FileWriter         = (*file)(nil)
	_ fs.FileFlusher        = (*file)(nil)
	_ fs.FileFsyncer        = (*file)(nil)
	_ fs.FileReleaser       = (*file)(nil)
	_ fs.FileLseeker        = (*file)(nil)
	_ fs.FileAllocater      = (*file)(nil)
	_ fs.FileReaddirenter   = (*dir)(nil)
	_ fs.FileLookuper       = (*dir)(nil)
	_ fs.FileReleasedirer   = (*dir)(nil)
	_ fs.FileSeekdirer      = (*dir)(nil)
	_ fs.FileFsyncdirer     = (*dir)(nil)
)

// backingPath is the path of this node in the backing directory.
func (n *node) backingPath() string {
	return filepath.Join(n.RootData.Path, n.Path(n.Root()))
}

// unwrap returns the loopback handle inside one of our handles, so the
// loopback implementation finds the types it expects.
func unwrap(f fs.FileHandle) fs.FileHandle {
	if w, ok := f.(*file); ok {
		return w.inner
	}
	return f
}

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	n.fs.enter(ctx, opLookup)
	return n.LoopbackNode.Lookup(ctx, name, out)
}

func (n *node) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.fs.enter(ctx, opGetattr)
	return n.LoopbackNode.Getattr(ctx, unwrap(f), out)
}

func (n *node) Statx(ctx context.Context, f fs.FileHandle, flags, mask uint32, out *fuse.StatxOut) syscall.Errno {
	n.fs.enter(ctx, opGetattr)
	return n.LoopbackNode.Statx(ctx, unwrap(f), flags, mask, out)
}

func (n *node) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	n.fs.enter(ctx, opSetattr)
	if errno := n.fs.power.change(); errno != 0 {
		return errno
	}
	if f == nil {
		if errno, done := n.setattrSymlink(in, out); done {
			return errno
		}
	}
	newSize, truncating := in.GetSize()
	if !truncating || !n.fs.hasQuota.Load() {
		return n.LoopbackNode.Setattr(ctx, unwrap(f), in, out)
	}
	n.fs.quotaMu.Lock()
	defer n.fs.quotaMu.Unlock()
	var st syscall.Stat_t
	old := int64(0)
	if err := syscall.Lstat(n.backingPath(), &st); err == nil {
		old = st.Size
	}
	errno := n.LoopbackNode.Setattr(ctx, unwrap(f), in, out)
	if errno == 0 && n.fs.quota >= 0 {
		n.fs.used = max(0, n.fs.used+int64(newSize)-old)
	}
	return errno
}

func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	n.fs.enter(ctx, opCreate)
	if errno := n.fs.ops.fault(opCreate); errno != 0 {
		return nil, nil, 0, errno
	}
	if errno := n.fs.power.change(); errno != 0 {
		return nil, nil, 0, errno
	}
	ch, fh, fl, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	return ch, &file{fs: n.fs, inner: fh}, fl, 0
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	n.fs.enter(ctx, opOpen)
	fh, fl, errno := n.LoopbackNode.Open(ctx, flags)
	if errno != 0 {
		return nil, 0, errno
	}
	return &file{fs: n.fs, inner: fh}, fl, 0
}

func (n *node) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	n.fs.enter(ctx, opOpendir)
	fh, fl, errno := n.LoopbackNode.OpendirHandle(ctx, flags)
	if errno != 0 {
		return nil, 0, errno
	}
	return &dir{node: n, inner: fh}, fl, 0
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	n.fs.enter(ctx, opMkdir)
	if errno := n.fs.power.change(); errno != 0 {
		return nil, errno
	}
	return n.LoopbackNode.Mkdir(ctx, name, mode, out)
}

func (n *node) Mknod(ctx context.Context, name string, mode, rdev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	n.fs.enter(ctx, opMknod)
	if errno := n.fs.power.change(); errno != 0 {
		return nil, errno
	}
	return n.LoopbackNode.Mknod(ctx, name, mode, rdev, out)
}

// releasedSize is the number of bytes freed when the regular file at p
// loses its last name, for quota accounting.
func releasedSize(p string) int64 {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		return 0
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Nlink > 1 {
		return 0
	}
	return st.Size
}

func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	n.fs.enter(ctx, opRename)
	if errno := n.fs.ops.fault(opRename); errno != 0 {
		return errno
	}
	if errno := n.fs.power.change(); errno != 0 {
		return errno
	}
	if !n.fs.hasQuota.Load() {
		return n.LoopbackNode.Rename(ctx, name, newParent, newName, flags)
	}
	var freed int64
	if np, ok := newParent.(*node); ok && flags == 0 {
		freed = releasedSize(filepath.Join(np.backingPath(), newName))
	}
	errno := n.LoopbackNode.Rename(ctx, name, newParent, newName, flags)
	if errno == 0 {
		n.fs.reserve(-freed)
	}
	return errno
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	n.fs.enter(ctx, opUnlink)
	if errno := n.fs.power.change(); errno != 0 {
		return errno
	}
	if !n.fs.hasQuota.Load() {
		return n.LoopbackNode.Unlink(ctx, name)
	}
	freed := releasedSize(filepath.Join(n.backingPath(), name))
	errno := n.LoopbackNode.Unlink(ctx, name)
	if errno == 0 {
		n.fs.reserve(-freed)
	}
	return errno
}

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	n.fs.enter(ctx, opRmdir)
	if errno := n.fs.power.change(); errno != 0 {
		return errno
	}
	return n.LoopbackNode.Rmdir(ctx, name)
}

func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	n.fs.enter(ctx, opSymlink)
	if errno := n.fs.power.change(); errno != 0 {
		return nil, errno
	}
	return n.LoopbackNode.Symlink(ctx, target, name, out)
}

func (n *node) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	n.fs.enter(ctx, opLink)
	if errno := n.fs.power.change(); errno != 0 {
		return nil, errno
	}
	return n.LoopbackNode.Link(ctx, target, name, out)
}

func (n *node) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	n.fs.enter(ctx, opReadlink)
	return n.LoopbackNode.Readlink(ctx)
}

func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	n.fs.enter(ctx, opStatfs)
	return n.LoopbackNode.Statfs(ctx, out)
}

// Getxattr is normally never reached (the mount disables xattrs so the
// kernel stops asking after the first ENOSYS), but answers like EFS if it is.
func (n *node) Getxattr(ctx context.Context, _ string, _ []byte) (uint32, syscall.Errno) {
	n.fs.enter(ctx, opGetxattr)
	return 0, syscall.ENOTSUP
}

// Setxattr fails like EFS, which does not support extended attributes.
func (n *node) Setxattr(ctx context.Context, _ string, _ []byte, _ uint32) syscall.Errno {
	n.fs.enter(ctx, opSetxattr)
	return syscall.ENOTSUP
}

// Listxattr fails like EFS, which does not support extended attributes.
func (n *node) Listxattr(ctx context.Context, _ []byte) (uint32, syscall.Errno) {
	n.fs.enter(ctx, opListxattr)
	return 0, syscall.ENOTSUP
}

// Removexattr fails like EFS, which does not support extended attributes.
func (n *node) Removexattr(ctx context.Context, _ string) syscall.Errno {
	n.fs.enter(ctx, opRemovexattr)
	return syscall.ENOTSUP
}

// CopyFileRange is refused, as on NFSv4.1 (EFS) which has no server-side
// copy, so copies go through counted and delayed reads and writes.
func (n *node) CopyFileRange(context.Context, fs.FileHandle, uint64, *fs.Inode, fs.FileHandle, uint64, uint64, uint64) (uint32, syscall.Errno) {
	return 0, syscall.ENOSYS
}

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

// dir wraps a loopback directory stream, charging one readdir operation per
// DirBatch entries and answering READDIRPLUS lookups without a lookup
// delay, since their attributes come in the same reply.
type dir struct {
	node    *node
	inner   fs.FileHandle
	entries int
}

func (d *dir) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	if d.entries%DirBatch == 0 {
		d.node.fs.enter(ctx, opReaddir)
	}
	if errno := d.node.fs.ops.fault(opReaddir); errno != 0 {
		return nil, errno
	}
	d.entries++
	return d.inner.(fs.FileReaddirenter).Readdirent(ctx)
}

func (d *dir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return d.node.LoopbackNode.Lookup(ctx, name, out)
}

func (d *dir) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	d.entries = 0
	if s, ok := d.inner.(fs.FileSeekdirer); ok {
		return s.Seekdir(ctx, off)
	}
	return syscall.ENOTSUP
}

func (d *dir) Fsyncdir(ctx context.Context, flags uint32) syscall.Errno {
	d.node.fs.enter(ctx, opFsync)
	if errno := d.node.fs.ops.fault(opFsync); errno != 0 {
		return errno
	}
	if errno := d.node.fs.power.change(); errno != 0 {
		return errno
	}
	if s, ok := d.inner.(fs.FileFsyncdirer); ok {
		if errno := s.Fsyncdir(ctx, flags); errno != 0 {
			return errno
		}
	}
	if d.node.fs.power != nil {
		if err := d.node.fs.power.syncDir(d.node.backingPath()); err != nil {
			return fs.ToErrno(err)
		}
	}
	return 0
}

func (d *dir) Releasedir(ctx context.Context, flags uint32) {
	d.node.fs.enter(ctx, opRelease)
	if r, ok := d.inner.(fs.FileReleasedirer); ok {
		r.Releasedir(ctx, flags)
	}
}
