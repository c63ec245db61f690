package agent

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/efssync/efssync/agent/send"
	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/transfer/fsdest"
	"github.com/efssync/efssync/transfer/s3src"
)

// sourceCheckpoint is the name under which a restore keeps, beside the
// destinations' checkpoints of an object, the s3src.Checkpoint of its
// read (the ETag, version and part length a resume must match). It starts
// with a control character, which no destination name (by default a path
// or s3:// URL) holds.
const sourceCheckpoint = "\x01s3src"

// restoreSyncEvery is how often a restored large file is made durable and
// checkpointed: every part_size bytes, so a crash costs at most about
// part_concurrency + 1 parts of downloading again. Zero for a directory
// source: its fs uploads are not resumable (the source is local).
func restoreSyncEvery(job config.Job) int64 {
	if !job.From.IsS3() {
		return 0
	}
	return int64(job.From.PartSize)
}

// resumePoint is where a restore of o may continue: the s3src checkpoint
// to open it with, and the kept temp file holding [0, cp.Done) whose bytes
// are re-read (and hashed) instead of fetched again.
type resumePoint struct {
	cp   *s3src.Checkpoint
	path string
}

// findResume looks for a destination's kept temp file of this very object
// version. The sender checks the same identity again when it begins.
func (r *restoreRun) findResume(o s3src.Object, dests []int) resumePoint {
	j := r.j
	cs, ok := j.sender.Checkpoints()
	if !ok || o.Size < restoreSyncEvery(j.job) {
		return resumePoint{}
	}
	id := objectIdentity(o)
	var best resumePoint
	for _, i := range dests {
		data, err := cs.Load(j.names[i], o.Rel)
		if err != nil || data == nil {
			continue
		}
		up, sid, err := send.DecodeCheckpoint(data)
		if err != nil || sid.Ino != id.Ino || sid.Size != o.Size {
			continue
		}
		if n := fsdest.Resumed(up); best.cp == nil || n > best.cp.Done {
			best = resumePoint{cp: &s3src.Checkpoint{Key: o.Key, VersionID: o.VersionID, ETag: o.ETag, Size: o.Size, Done: n}, path: up.Key}
		}
	}
	if best.cp == nil || best.cp.Done == 0 {
		return resumePoint{}
	}
	if data, err := cs.Load(sourceCheckpoint, o.Rel); err == nil && data != nil {
		var sc s3src.Checkpoint
		if json.Unmarshal(data, &sc) == nil {
			best.cp.PartLen = sc.PartLen
		}
	}
	return best
}

// saveSourceCheckpoint keeps what a resume of rd must match, once per
// object (the part length of a multipart object is known only now).
func (r *restoreRun) saveSourceCheckpoint(o s3src.Object, rd *s3src.Reader) {
	cs, ok := r.j.sender.Checkpoints()
	if !ok || o.Size < restoreSyncEvery(r.j.job) {
		return
	}
	data, err := json.Marshal(rd.Checkpoint(0))
	if err == nil {
		err = cs.Save(sourceCheckpoint, o.Rel, data)
	}
	if err != nil {
		cs.Warn(fmt.Errorf("%s: source checkpoint: %w", o.Rel, err))
	}
}

// forgetSourceCheckpoint drops it once the object is published.
func (r *restoreRun) forgetSourceCheckpoint(o s3src.Object) {
	if cs, ok := r.j.sender.Checkpoints(); ok && o.Size >= restoreSyncEvery(r.j.job) {
		if err := cs.Delete(sourceCheckpoint, o.Rel); err != nil {
			cs.Warn(fmt.Errorf("%s: forget source checkpoint: %w", o.Rel, err))
		}
	}
}

// openPrefix opens the kept temp file whose first n bytes are re-read.
func openPrefix(rp resumePoint, n int64) (*os.File, error) {
	if n == 0 {
		return nil, nil
	}
	f, err := os.Open(rp.path)
	if err != nil {
		return nil, fmt.Errorf("reopen kept temp file %s: %w", rp.path, err)
	}
	return f, nil
}
