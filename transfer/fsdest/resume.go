package fsdest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/efssync/efssync/transfer"
)

// PartPrefix starts the name of a resumable temp file. Unlike TempPrefix
// files, Cleanup leaves them: a checkpoint in the manifest may still name
// one, and the next copy of the same source continues it (or, for another
// source version, aborts it, which removes it).
const PartPrefix = ".efssync-part-"

// resumeUploadID marks checkpoints made by fsdest.
const resumeUploadID = "fsdest-temp"

// resumeState is what a resumable upload knows about its durable prefix.
type resumeState struct {
	every   int64           // sync every this many bytes; 0: not resumable
	durable int64           // bytes [0, durable) are fsynced
	held    int64           // bytes [0, held) came from a resumed temp file
	parts   []transfer.Part // one per durable block, for Checkpoint
}

func (d *Dest) resumable(size int64) bool {
	return d.opts.ResumeEvery > 0 && !d.opts.Progressive && size >= d.opts.ResumeEvery
}

// partName is a fresh name for a resumable temp file.
func (d *Dest) partName() string {
	var r [8]byte
	_, _ = rand.Read(r[:])
	return PartPrefix + d.opts.TempTag + "-" + hex.EncodeToString(r[:])
}

// reopen continues the temp file cp names, when it is one of ours in dir
// and still there; it reports whether u now writes into it.
func (d *Dest) reopen(u *upload, dir string, cp *transfer.Checkpoint) bool {
	if cp == nil || cp.UploadID != resumeUploadID || filepath.Dir(cp.Key) != dir ||
		!strings.HasPrefix(filepath.Base(cp.Key), PartPrefix) {
		return false
	}
	name := filepath.Base(cp.Key)
	fd, err := openat(u.dir.fd, name, unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return false
	}
	var st unix.Stat_t
	var held int64
	for _, p := range cp.Parts {
		held += p.Size
	}
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size < held {
		unix.Close(fd)
		return false
	}
	u.fd, u.name = fd, name
	u.have = owned{mode: st.Mode & 0o7777, uid: int(st.Uid), gid: int(st.Gid)}
	u.held, u.durable, u.end, u.written = held, held, held, held
	u.parts = append(u.parts[:0], cp.Parts...)
	return true
}

// syncResumable makes each further ResumeEvery bytes of a resumable upload
// durable, so that Checkpoint may claim them.
func (u *upload) syncResumable() error {
	if u.every == 0 || u.end-u.durable < u.every {
		return nil
	}
	if err := unix.Fdatasync(u.fd); err != nil {
		return fmt.Errorf("fsync %s: %w", u.tmp(), classify(err))
	}
	u.parts = append(u.parts, transfer.Part{Number: int32(len(u.parts) + 1), Size: u.end - u.durable})
	u.durable = u.end
	return nil
}

// Checkpoint implements transfer.Upload: a resumable upload reports its
// durable prefix (Key is the temp file's path); any other, nil.
func (u *upload) Checkpoint() *transfer.Checkpoint {
	if u.every == 0 || len(u.parts) == 0 || u.dir == nil {
		return nil
	}
	return &transfer.Checkpoint{Key: u.tmp(), UploadID: resumeUploadID, PartSize: u.every, Parts: u.parts}
}

// Resumed returns how many bytes of cp's temp file are durable: what a
// source may re-read from Key instead of fetching again. Zero for a
// checkpoint fsdest did not make.
func Resumed(cp *transfer.Checkpoint) int64 {
	if cp == nil || cp.UploadID != resumeUploadID {
		return 0
	}
	var n int64
	for _, p := range cp.Parts {
		n += p.Size
	}
	return n
}
