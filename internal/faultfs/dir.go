package faultfs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

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
