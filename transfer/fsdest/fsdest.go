// Package fsdest replicates into a mounted directory: an EFS or NFS mount in
// production, any local directory in tests. It publishes each file with a
// hidden temp file, fsync and rename, so a reader of the destination sees
// either the previous version or the whole new one, and it batches the
// directory fsyncs that make those renames durable.
package fsdest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/efssync/efssync/transfer"
)

// TempPrefix starts the name of every temp file fsdest creates. Cleanup
// removes files with this prefix; List never reports them.
const TempPrefix = ".efssync-tmp-"

// Options tune how files are published.
type Options struct {
	// Xattrs copies Meta.Xattrs onto published files.
	Xattrs bool
	// Chown applies Meta.UID/GID; it only works as root.
	Chown bool
	// Progressive publishes each file under its final name before its
	// first byte, as a new file, and writes it in place there, for
	// consumers that read growing files. Readers may see partial content.
	Progressive bool
	// Atomic, when set, names files that are published atomically (temp
	// file, then rename) even when Progressive: a live stream's manifests,
	// which a player must never read half-written while the media files
	// they name grow in place.
	Atomic func(rel string) bool
	// TempTag names the agent in its temp files (.efssync-tmp-TAG-...), so
	// Cleanup removes only this agent's leftovers, never the files another
	// agent (a shard writing into the same tree) is still writing.
	TempTag string
	// ResumeEvery, when > 0, makes every file of at least that size
	// resumable (see resume.go): written under a kept name, made durable
	// every ResumeEvery bytes, and continued by Begin from its checkpoint.
	ResumeEvery int64
}

// Dest is a mounted-directory destination. It is safe for concurrent use.
type Dest struct {
	name string
	root string
	opts Options

	umask      uint32 // the process umask, read once in New
	tempPrefix string // TempPrefix and the agent's tag
	// euid and egid own the files this process creates; a chown to them
	// is skipped. Under a setgid root new files take the directory's
	// group instead, so there egid is -1 and the chown always happens.
	euid, egid int

	dirs dirFDs // directories being written into

	mu    sync.Mutex
	dirty map[string]struct{} // directories (relative) with renames not yet fsynced
	known map[string]struct{} // directories (relative) known to exist
}

// New returns a destination rooted at root, which must exist: a missing
// root usually means an unmounted file system, and creating it would fill the
// mount point's parent instead.
//
// A root that is itself a symlink (/mnt/efs/home -> /mnt/efs-vol1/home) is
// the operator's choice: it is resolved here, once, and every operation
// works on the resolved directory. Nothing below the root is ever
// resolved through a symlink.
func New(name, root string, opts Options) (*Dest, error) {
	resolved, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("destination %s: %w", root, err)
	}
	root = resolved
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("destination %s: %w", root, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("destination %s: not a directory", root)
	}
	// Reading the umask means setting it; New runs before any file is
	// created, so the brief change is seen by nobody.
	umask := uint32(unix.Umask(0o022))
	unix.Umask(int(umask))
	egid := os.Getegid()
	if st.Mode()&fs.ModeSetgid != 0 {
		egid = -1
	}
	prefix := TempPrefix
	if opts.TempTag != "" {
		prefix += opts.TempTag + "-"
	}
	d := &Dest{name: name, root: root, opts: opts, umask: umask, euid: os.Geteuid(), egid: egid, tempPrefix: prefix,
		dirty: map[string]struct{}{}, known: map[string]struct{}{".": {}}}
	d.dirs.openDir = d.openDir
	return d, nil
}

// Name implements transfer.Destination.
func (d *Dest) Name() string { return d.name }

// Root is the directory files are published under, with symlinks in its
// own path resolved.
func (d *Dest) Root() string { return d.root }

func (d *Dest) abs(rel string) (string, error) {
	if rel == "" || rel == "." {
		return d.root, nil
	}
	if strings.HasPrefix(rel, "/") || rel != path.Clean(rel) || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%s: invalid relative path %q", d.root, rel)
	}
	return filepath.Join(d.root, filepath.FromSlash(rel)), nil
}

// ensureDir makes sure the directory dirRel exists, creating missing ones
// with mode 0755, component by component below the root without following
// a symlink (one found in the way is replaced by a directory: the source
// has a directory there). The agent normally creates directories first
// with the source's modes through Mkdir; this is the fallback.
func (d *Dest) ensureDir(dirRel string) error {
	d.mu.Lock()
	_, ok := d.known[dirRel]
	d.mu.Unlock()
	if ok {
		return nil
	}
	root, err := d.dirs.acquire(".", d.root)
	if err != nil {
		return fmt.Errorf("open destination root %s: %w", d.root, classify(err))
	}
	fd, err := mkdirBeneath(root.fd, dirRel, 0o755, func(made string) { d.markDirty(path.Dir(made)) })
	d.dirs.release(root)
	if err != nil {
		return fmt.Errorf("create directory %s: %w", d.absOf(dirRel), classify(err))
	}
	_ = unix.Close(fd)
	d.markKnown(dirRel)
	return nil
}

// absOf is rel's absolute path, for messages.
func (d *Dest) absOf(rel string) string {
	if rel == "." || rel == "" {
		return d.root
	}
	return d.root + "/" + rel
}

// openDir opens the directory rel below the root as O_PATH, never through
// a symlink: it is how the descriptor cache opens what it lacks.
func (d *Dest) openDir(rel string) (int, error) {
	if rel == "." {
		return openat(unix.AT_FDCWD, d.root, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	}
	root, err := d.dirs.acquire(".", d.root)
	if err != nil {
		return -1, err
	}
	defer d.dirs.release(root)
	return openBeneath(root.fd, rel, unix.O_PATH|unix.O_DIRECTORY, 0)
}

// parent acquires the directory holding rel and returns rel's last
// component. The caller releases the directory.
func (d *Dest) parent(rel string) (*dirFD, string, error) {
	dir := path.Dir(rel)
	f, err := d.dirs.acquire(dir, d.absOf(dir))
	if err != nil {
		return nil, "", fmt.Errorf("open directory %s: %w", d.absOf(dir), classify(err))
	}
	return f, path.Base(rel), nil
}

func (d *Dest) markKnown(dirRel string) {
	d.mu.Lock()
	for r := dirRel; ; r = path.Dir(r) {
		if _, ok := d.known[r]; ok {
			break
		}
		d.known[r] = struct{}{}
		if r == "." || r == "/" {
			break
		}
	}
	d.mu.Unlock()
}

func (d *Dest) markDirty(dirRel string) {
	d.mu.Lock()
	d.dirty[dirRel] = struct{}{}
	d.mu.Unlock()
}

// tempName is a fresh hidden temp file name, built in one allocation: it
// is made for every file.
func (d *Dest) tempName() string {
	var r [8]byte
	_, _ = rand.Read(r[:])
	var h [16]byte
	hex.Encode(h[:], r[:])
	var b strings.Builder
	b.Grow(len(d.tempPrefix) + len(h))
	b.WriteString(d.tempPrefix)
	b.Write(h[:])
	return b.String()
}

func unixMode(m fs.FileMode) uint32 {
	mode := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= unix.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		mode |= unix.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		mode |= unix.S_ISVTX
	}
	return mode
}

// classify marks errors a network mount may clear on its own as retriable,
// and an out-of-space error as such (see noSpace).
func classify(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case unix.EIO, unix.ETIMEDOUT, unix.ESTALE, unix.EAGAIN, unix.EINTR:
			return transfer.Retriable(err)
		}
	}
	return noSpace(err)
}

// noSpace marks a full file system (ENOSPC) or an exhausted quota (EDQUOT)
// with transfer.NoSpace, so the agent stops this destination for the run
// instead of failing every further file one by one. On NFS both may come
// as late as fsync or close, so Commit marks its errors this way too (but
// never as retriable: a failed Commit has dropped its temp file).
func noSpace(err error) error {
	if errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) {
		return transfer.NoSpace(err)
	}
	return err
}
