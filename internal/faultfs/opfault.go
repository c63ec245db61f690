package faultfs

import (
	"fmt"
	"sync/atomic"
	"syscall"
)

// opFaults fail chosen operations with a chosen errno: the fault matrix
// needs EIO on reads, renames, fsyncs or directory listings alone, which
// FailWrites (every write, fsync and flush) cannot express.
type opFaults struct {
	errno [numOps]atomic.Int64 // syscall.Errno; 0 = none
	left  [numOps]atomic.Int64 // failures still to inject; <0 = until cleared
	hits  atomic.Int64         // failures injected so far
}

// Injected counts the operations FailOp made fail, so a test can wait
// until the program under test met its fault.
func (f *FS) Injected() int64 { return f.ops.hits.Load() }

// FailOp makes the next times operations named name ("read", "write",
// "fsync", "rename", "readdir", "create", "unlink", "mkdir", "setattr")
// fail with err; times < 0 fails them until ClearFaults. "fsync" covers
// the fsync of files and of directories.
func (f *FS) FailOp(name string, err syscall.Errno, times int64) error {
	for o := range numOps {
		if opInfo[o].name == name {
			f.ops.left[o].Store(times)
			f.ops.errno[o].Store(int64(err))
			return nil
		}
	}
	return fmt.Errorf("faultfs: no operation named %q", name)
}

// clear disarms every operation fault.
func (p *opFaults) clear() {
	for o := range numOps {
		p.errno[o].Store(0)
	}
}

// fault returns the errno o must fail with now, or 0, counting one
// injected failure.
func (p *opFaults) fault(o op) syscall.Errno {
	e := p.errno[o].Load()
	if e == 0 {
		return 0
	}
	for {
		left := p.left[o].Load()
		if left < 0 {
			p.hits.Add(1)
			return syscall.Errno(e)
		}
		if left == 0 {
			return 0
		}
		if p.left[o].CompareAndSwap(left, left-1) {
			p.hits.Add(1)
			return syscall.Errno(e)
		}
	}
}
