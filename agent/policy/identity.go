// Package policy holds the agent's policy decisions, one function per
// question, so that once mode, watch mode, restore, archive and shards keep
// the same rules: a mode that asks "has this source changed?" or "may this
// delete happen?" calls the one function here instead of answering again.
// Every function is pure: it decides from values and touches nothing, so
// each is tested by a table.
package policy

import (
	"io/fs"
	"time"

	"github.com/efssync/efssync/agent/walk"
	"github.com/efssync/efssync/manifest"
)

// Identity is what says that a source entry is the version seen before:
// size, mtime, ctime, inode, device and mode for a file; size, ETag and
// LastModified for an object. A zero Dev is "unknown" (a record written
// before the manifest kept it) and matches any device.
type Identity struct {
	Size  int64
	Mtime time.Time
	Ctime time.Time
	Ino   uint64
	Dev   uint64
	Mode  fs.FileMode
	// ETag is set for an object only; it makes the comparison an object's.
	ETag string
}

// FileIdentity is the identity of a file or directory as lstat saw it.
func FileIdentity(st walk.Stat, mode fs.FileMode) Identity {
	return Identity{Size: st.Size, Mtime: st.Mtime, Ctime: st.Ctime, Ino: st.Ino, Dev: st.Dev, Mode: mode}
}

// ObjectIdentity is the identity of an S3 object as its listing shows it.
func ObjectIdentity(size int64, etag string, modified time.Time) Identity {
	return Identity{Size: size, Mtime: modified, ETag: etag}
}

// RecordIdentity is the identity the manifest recorded for an entry.
func RecordIdentity(rec manifest.Record) Identity {
	return Identity{Size: rec.Size, Mtime: rec.ModTime, Ctime: rec.CTime, Ino: rec.Inode, Dev: rec.Dev, Mode: rec.Mode, ETag: rec.ETag}
}

// SourceUnchanged answers "is the source still the version seen?" for
// every mode: the plan against the manifest, the confirmation after a read,
// the archive's check before a release, and watch mode's follower. ctime
// is part of it because a chmod, chown or a rename over the file moves
// ctime and nothing else.
func SourceUnchanged(was, now Identity) bool {
	if was.ETag != "" || now.ETag != "" {
		return was.ETag == now.ETag && was.Size == now.Size && was.Mtime.Equal(now.Mtime)
	}
	if was.Dev != 0 && now.Dev != 0 && was.Dev != now.Dev {
		return false
	}
	return was.Size == now.Size && was.Mtime.Equal(now.Mtime) && was.Ctime.Equal(now.Ctime) &&
		was.Ino == now.Ino && was.Mode == now.Mode
}
