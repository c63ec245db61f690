package faultfs

import (
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// setattrSymlink changes the owner and times of a symlink itself. The
// go-fuse loopback would chown through the link (to its target, or fail
// with ENOENT when the target is missing), which lchown(2) on a real file
// system never does. done is false when n is not a symlink.
func (n *node) setattrSymlink(in *fuse.SetAttrIn, out *fuse.AttrOut) (errno syscall.Errno, done bool) {
	p := n.backingPath()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFLNK {
		return 0, false
	}
	uid, uok := in.GetUID()
	gid, gok := in.GetGID()
	if uok || gok {
		u, g := -1, -1
		if uok {
			u = int(uid)
		}
		if gok {
			g = int(gid)
		}
		if err := syscall.Lchown(p, u, g); err != nil {
			return fs.ToErrno(err), true
		}
	}
	if mt, ok := in.GetMTime(); ok {
		at, aok := in.GetATime()
		if !aok {
			at = mt
		}
		ts := []unix.Timespec{unix.NsecToTimespec(at.UnixNano()), unix.NsecToTimespec(mt.UnixNano())}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fs.ToErrno(err), true
		}
	}
	if err := syscall.Lstat(p, &st); err != nil {
		return fs.ToErrno(err), true
	}
	out.FromStat(&st)
	return 0, true
}
