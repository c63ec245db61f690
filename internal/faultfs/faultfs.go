// Package faultfs is a FUSE loopback file system used by tests and
// benchmarks to stand in for an EFS/NFS mount on a developer machine.
//
// It mirrors a backing directory at a mount point and, on the way, adds a
// configurable latency to every operation (so that tools which issue many
// small round trips pay for them as they would on a network file system),
// counts every operation (so a benchmark can report operations per copied
// file), and injects faults on demand (ENOSPC past a quota, EIO on writes,
// any errno on one kind of operation with FailOp),
// which a plain temp directory cannot do.
//
// # Latency model
//
// Every FUSE request blocks only its own goroutine for its delay, so many
// requests can be in flight at once, as on an NFS client with many RPC
// slots. Operations fall into four classes:
//
//   - metadata reads (Options.Meta): lookup, getattr, statx, readlink, open,
//     opendir, readdir (one per [DirBatch] entries returned, like one
//     READDIRPLUS page), statfs, getxattr, listxattr, release;
//   - metadata writes (Options.MetaWrite, Meta if zero): create, mkdir,
//     mknod, rename, unlink, rmdir, symlink, link, setattr, setxattr,
//     removexattr;
//   - data reads (Options.Data): read;
//   - data writes (Options.DataWrite, Data if zero): write, fsync,
//     fallocate, and flush of a handle that wrote since its last flush or
//     fsync (a clean close sends nothing over the wire on NFS, so a clean
//     flush is counted but costs nothing).
//
// There is no client-side write-back: every WRITE request (at most 1 MiB,
// the EFS wsize) pays the data-write latency, so tools that write in small
// buffers, one file at a time, pay the most, which is the effect the
// benchmarks are after. Extended attributes are not supported, as on EFS.
package faultfs

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// DirBatch is how many directory entries one readdir operation returns in
// the latency model, roughly one NFS READDIRPLUS reply.
const DirBatch = 128

// FS is a mounted faultfs. Its fault setters are safe to call from any
// goroutine while the mount serves requests.
type FS struct {
	opts       Options
	backing    string
	mountpoint string
	server     *fuse.Server

	counts     [numOps]atomic.Int64
	readBytes  atomic.Int64
	writeBytes atomic.Int64
	delayNanos atomic.Int64

	// Faults. failErr and failAfter are read on every write without a
	// lock; quota bookkeeping takes quotaMu because it must check and
	// account atomically.
	failErr   atomic.Int64 // syscall.Errno; 0 = none
	failAfter atomic.Int64 // bytes still allowed; <0 = disarmed
	quotaMu   sync.Mutex
	quota     int64 // <0 = no quota
	used      int64 // bytes of regular files under backing, when quota >= 0
	hasQuota  atomic.Bool
	ops       opFaults // per-operation faults (opfault.go)

	// power is the power-loss model; nil unless Options.PowerLoss.
	power *power

	closeMu sync.Mutex
	closed  bool
}

// Start mounts a faultfs mirroring backing at mountpoint. Both directories
// must exist. Call Close to unmount.
func Start(backing, mountpoint string, opts Options) (*FS, error) {
	backing, err := filepath.Abs(backing)
	if err != nil {
		return nil, fmt.Errorf("faultfs: backing %s: %w", backing, err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(backing, &st); err != nil {
		return nil, fmt.Errorf("faultfs: stat backing %s: %w", backing, err)
	}
	f := &FS{opts: opts, backing: backing, mountpoint: mountpoint, quota: -1}
	f.failAfter.Store(-1)
	if opts.PowerLoss {
		f.power = &power{left: -1, dark: make(chan struct{}), errno: opts.CutErrno}
		if f.power.errno == 0 {
			f.power.errno = syscall.EIO
		}
		if err := f.power.snapshot(backing); err != nil {
			return nil, err
		}
	}

	root := &fs.LoopbackRoot{Path: backing, Dev: uint64(st.Dev)}
	root.NewNode = func(r *fs.LoopbackRoot, _ *fs.Inode, _ string, _ *syscall.Stat_t) fs.InodeEmbedder {
		return &node{LoopbackNode: fs.LoopbackNode{RootData: r}, fs: f}
	}
	rootNode := root.NewNode(root, nil, "", &st)
	root.RootNode = rootNode

	server, err := fs.Mount(mountpoint, rootNode, mountOptions(backing, opts))
	if err != nil {
		return nil, fmt.Errorf("faultfs: mount %s over %s: %w", mountpoint, backing, err)
	}
	f.server = server
	return f, nil
}

// mountOptions are the go-fuse options of a mount of backing: the cache
// timeouts of opts and many requests in flight.
func mountOptions(backing string, opts Options) *fs.Options {
	timeout := opts.CacheTimeout
	if timeout == 0 {
		timeout = time.Second
	}
	if timeout < 0 {
		timeout = 0
	}
	return &fs.Options{
		EntryTimeout: &timeout,
		AttrTimeout:  &timeout,
		MountOptions: fuse.MountOptions{
			// Many requests in flight, like the RPC slots of an NFS client.
			MaxBackground: 128,
			MaxWrite:      fuse.MAX_KERNEL_WRITE,
			MaxReadAhead:  fuse.MAX_KERNEL_WRITE,
			FsName:        backing,
			Name:          "faultfs",
			DisableXAttrs: true,
			DirectMount:   os.Geteuid() == 0,
			Debug:         opts.Debug,
		},
	}
}

// Mountpoint returns the directory where the file system is mounted.
func (f *FS) Mountpoint() string { return f.mountpoint }

// Backing returns the directory the mount mirrors.
func (f *FS) Backing() string { return f.backing }

// Close unmounts the file system and waits for the server to stop. It is
// safe to call more than once; after a failure (EBUSY while files are still
// open) it may be called again.
func (f *FS) Close() error {
	f.closeMu.Lock()
	defer f.closeMu.Unlock()
	if f.closed {
		return nil
	}
	if err := f.server.Unmount(); err != nil {
		return fmt.Errorf("faultfs: unmount %s: %w", f.mountpoint, err)
	}
	f.server.Wait()
	f.closed = true
	return nil
}
