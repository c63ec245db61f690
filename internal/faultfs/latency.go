package faultfs

import (
	"cmp"
	"context"
	"time"

	"golang.org/x/sys/unix"
)

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
		return cmp.Or(f.opts.MetaWrite, f.opts.Meta)
	case dataRead:
		return f.opts.Data
	case dataWrite:
		return cmp.Or(f.opts.DataWrite, f.opts.Data)
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
