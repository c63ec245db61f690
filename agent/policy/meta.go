package policy

import (
	"io/fs"

	"github.com/efssync/efssync/agent/walk"
	"github.com/efssync/efssync/transfer"
)

// Meta is the agent's one answer to "which metadata does a destination
// apply for this source entry?": mode with its type bits, owner and mtime
// as lstat saw them, for files, directories and symlinks, published
// atomically or progressively alike. Extended attributes travel with the
// content (read from the open file when the job sets xattrs); how each
// destination applies all of it is the destination's (transfer/fsdest,
// transfer/s3dest).
func Meta(st walk.Stat, mode fs.FileMode) transfer.Meta {
	return transfer.Meta{Size: st.Size, Mode: mode, ModTime: st.Mtime, UID: st.Uid, GID: st.Gid}
}
