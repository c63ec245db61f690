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
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// DirBatch is how many directory entries one readdir operation returns in
// the latency model, roughly one NFS READDIRPLUS reply.
const DirBatch = 128

// Options configure latency and mount behaviour of a faultfs mount.
type Options struct {
	// Meta is the delay of metadata reads (lookup, getattr, open, ...).
	Meta time.Duration
	// MetaWrite is the delay of metadata writes (create, rename, setattr,
	// ...). Zero means Meta.
	MetaWrite time.Duration
	// Data is the delay of each READ request.
	Data time.Duration
	// DataWrite is the delay of each WRITE, FSYNC and dirty FLUSH request.
	// Zero means Data.
	DataWrite time.Duration

	// Sleep, when set, replaces the real delay; tests inject it to observe
	// the delays applied without measuring wall-clock time. It is called
	// once per delayed operation with the operation name and the delay.
	Sleep func(ctx context.Context, op string, d time.Duration)

	// CacheTimeout is how long the kernel may cache entries and attributes
	// (the NFS actimeo analog). Zero means one second; negative disables
	// caching.
	CacheTimeout time.Duration

	// Debug logs every FUSE request to stderr.
	Debug bool

	// PowerLoss tracks what fsync made durable, so that PowerCut can drop
	// the rest and CutAfter can stop the mount at a chosen operation
	// (power.go).
	PowerLoss bool
	// CutErrno is what every state-changing operation fails with once the
	// power is off; zero means EIO. A test that wants the program to stop
	// at once rather than retry picks one it does not retry (EROFS).
	CutErrno syscall.Errno
}

// ProfileNFS models a generic NFS mount in one availability zone: 0.5 ms per
// metadata operation, 1 ms per data request. It is the default profile of
// the latencyfs command.
func ProfileNFS() Options {
	return Options{Meta: 500 * time.Microsecond, Data: time.Millisecond}
}

// ProfileEFSRegionalGP models EFS Regional in General Purpose mode, whose
// published latencies are about 0.25 ms for reads and 2.7 ms for writes:
// lookups, getattr, open and reads cost 0.25 ms; anything that changes the
// file system (create, rename, setattr, unlink, write, fsync, dirty flush)
// costs 2.7 ms, because EFS commits it durably across zones before replying.
func ProfileEFSRegionalGP() Options {
	return Options{
		Meta:      250 * time.Microsecond,
		MetaWrite: 2700 * time.Microsecond,
		Data:      250 * time.Microsecond,
		DataWrite: 2700 * time.Microsecond,
	}
}

// Profile returns the named profile ("nfs", "efs", or "none" for no latency)
// so commands and scripts can select one by name.
func Profile(name string) (Options, error) {
	switch name {
	case "nfs", "":
		return ProfileNFS(), nil
	case "efs", "efs-regional-gp":
		return ProfileEFSRegionalGP(), nil
	case "none":
		return Options{}, nil
	}
	return Options{}, fmt.Errorf("faultfs: unknown profile %q (want nfs, efs or none)", name)
}

// class is the latency class of an operation.
type class int

const (
	metaRead class = iota
	metaWrite
	dataRead
	dataWrite
	free // counted, never delayed
)

// op is one counted operation.
type op int

const (
	opLookup op = iota
	opGetattr
	opSetattr
	opCreate
	opMkdir
	opMknod
	opRename
	opUnlink
	opRmdir
	opSymlink
	opLink
	opReadlink
	opOpen
	opOpendir
	opReaddir
	opRelease
	opStatfs
	opGetxattr
	opSetxattr
	opListxattr
	opRemovexattr
	opRead
	opWrite
	opFlush
	opFsync
	opAllocate
	opLseek
	numOps
)

var opInfo = [numOps]struct {
	name  string
	class class
}{
	opLookup:      {"lookup", metaRead},
	opGetattr:     {"getattr", metaRead},
	opSetattr:     {"setattr", metaWrite},
	opCreate:      {"create", metaWrite},
	opMkdir:       {"mkdir", metaWrite},
	opMknod:       {"mknod", metaWrite},
	opRename:      {"rename", metaWrite},
	opUnlink:      {"unlink", metaWrite},
	opRmdir:       {"rmdir", metaWrite},
	opSymlink:     {"symlink", metaWrite},
	opLink:        {"link", metaWrite},
	opReadlink:    {"readlink", metaRead},
	opOpen:        {"open", metaRead},
	opOpendir:     {"opendir", metaRead},
	opReaddir:     {"readdir", metaRead},
	opRelease:     {"release", metaRead},
	opStatfs:      {"statfs", metaRead},
	opGetxattr:    {"getxattr", metaRead},
	opSetxattr:    {"setxattr", metaWrite},
	opListxattr:   {"listxattr", metaRead},
	opRemovexattr: {"removexattr", metaWrite},
	opRead:        {"read", dataRead},
	opWrite:       {"write", dataWrite},
	opFlush:       {"flush", dataWrite},
	opFsync:       {"fsync", dataWrite},
	opAllocate:    {"fallocate", dataWrite},
	opLseek:       {"lseek", free},
}

// Names of the extra counters reported by Counts beside the operations.
const (
	CountReadBytes  = "read_bytes"
	CountWriteBytes = "write_bytes"
	CountDelayNanos = "delay_ns"
)

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

	timeout := opts.CacheTimeout
	if timeout == 0 {
		timeout = time.Second
	}
	if timeout < 0 {
		timeout = 0
	}
	fsOpts := &fs.Options{
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
	server, err := fs.Mount(mountpoint, rootNode, fsOpts)
	if err != nil {
		return nil, fmt.Errorf("faultfs: mount %s over %s: %w", mountpoint, backing, err)
	}
	f.server = server
	return f, nil
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

// enter counts o and applies its latency.
func (f *FS) enter(ctx context.Context, o op) {
	f.counts[o].Add(1)
	f.delay(ctx, o)
}

func (f *FS) latency(o op) time.Duration {
	switch opInfo[o].class {
	case metaRead:
		return f.opts.Meta
	case metaWrite:
		if f.opts.MetaWrite != 0 {
			return f.opts.MetaWrite
		}
		return f.opts.Meta
	case dataRead:
		return f.opts.Data
	case dataWrite:
		if f.opts.DataWrite != 0 {
			return f.opts.DataWrite
		}
		return f.opts.Data
	}
	return 0
}

func (f *FS) delay(ctx context.Context, o op) {
	d := f.latency(o)
	if d <= 0 {
		return
	}
	f.delayNanos.Add(int64(d))
	if f.opts.Sleep != nil {
		f.opts.Sleep(ctx, opInfo[o].name, d)
		return
	}
	if d < preciseSleepLimit {
		preciseSleep(d)
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// preciseSleepLimit is the longest delay slept with nanosleep(2) instead of
// a Go timer. Go timers wake through the netpoller, whose timeouts are in
// whole milliseconds, which turns a 0.25 ms delay into more than 1 ms; a
// nanosleep with a 1 ns timer slack lands within tens of microseconds. It
// blocks an OS thread and ignores cancellation, so it is kept for short
// delays.
const preciseSleepLimit = 20 * time.Millisecond

func preciseSleep(d time.Duration) {
	// Timer slack is per thread; the default 50 µs is a fifth of a 0.25 ms
	// delay. Failure only costs precision.
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
	ts := unix.NsecToTimespec(int64(d))
	for {
		err := unix.Nanosleep(&ts, &ts)
		if err != unix.EINTR {
			return
		}
	}
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
