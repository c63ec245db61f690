package faultfs

import (
	"context"
	"path/filepath"
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
	victim := func() string {
		if np, ok := newParent.(*node); ok && flags == 0 {
			return filepath.Join(np.backingPath(), newName)
		}
		return ""
	}
	return n.fs.credited(victim, func() syscall.Errno {
		return n.LoopbackNode.Rename(ctx, name, newParent, newName, flags)
	})
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	n.fs.enter(ctx, opUnlink)
	if errno := n.fs.power.change(); errno != 0 {
		return errno
	}
	victim := func() string { return filepath.Join(n.backingPath(), name) }
	return n.fs.credited(victim, func() syscall.Errno {
		return n.LoopbackNode.Unlink(ctx, name)
	})
}

// credited runs remove, which may take the last name of the regular file
// at victim(), and credits the quota with that file's size when it
// succeeds. Without a quota it only runs remove.
func (f *FS) credited(victim func() string, remove func() syscall.Errno) syscall.Errno {
	if !f.hasQuota.Load() {
		return remove()
	}
	var freed int64
	if p := victim(); p != "" {
		freed = releasedSize(p)
	}
	errno := remove()
	if errno == 0 {
		f.reserve(-freed)
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
