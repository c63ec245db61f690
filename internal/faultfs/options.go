package faultfs

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

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
