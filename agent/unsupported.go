package agent

import (
	"fmt"
	"io/fs"
	"path"

	"github.com/efssync/efssync/transfer/fsdest"
)

// unsupported reports why the entry rel of mode cannot be replicated, or
// "" when it can.
func unsupported(rel string, mode fs.FileMode) string {
	switch {
	case fsdest.IsTempName(path.Base(rel)):
		return "named like an efssync temp file, which destinations hide and clean away"
	case mode&fs.ModeNamedPipe != 0:
		return "a FIFO; efssync replicates files, directories and symlinks only"
	case mode&fs.ModeSocket != 0:
		return "a socket; efssync replicates files, directories and symlinks only"
	case mode&fs.ModeDevice != 0:
		return "a device; efssync replicates files, directories and symlinks only"
	case !mode.IsRegular() && !mode.IsDir() && mode&fs.ModeSymlink == 0:
		return fmt.Sprintf("of type %s; efssync replicates files, directories and symlinks only", mode.Type())
	}
	return ""
}

// reportUnsupported reports an entry left out, and whether it was.
func (j *jobRun) reportUnsupported(rel string, mode fs.FileMode) bool {
	why := unsupported(rel, mode)
	if why == "" {
		return false
	}
	j.deliver(result{rel: rel, status: StatusUnsupported, err: fmt.Errorf("%s: not replicated: %s", rel, why)})
	return true
}
