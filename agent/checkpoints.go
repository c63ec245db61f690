package agent

import (
	"log/slog"

	"github.com/efssync/efssync/agent/send"
	"github.com/efssync/efssync/manifest"
	"github.com/efssync/efssync/transfer"
)

// minResumable is the smallest file worth looking up an upload checkpoint
// for: below S3's minimum part size nothing is ever multipart.
const minResumable = 5 << 20

// smallFile is the size below which a file is read with a small buffer.
const smallFile = 64 << 10

// checkpointStore keeps a job's upload checkpoints in the manifest. The
// manifest's writers are exactly: the recorder (record.go: records, in
// batches after publication), the mirror delete (delete.go: removed
// records, after the destinations' removal is synced), and the upload
// checkpoints here and in abortStaleUploads (crash.go), which forgets the
// checkpoints of source versions that are gone. Checkpoints bypass the
// recorder's batches on purpose: one must be durable as soon as its part is
// acknowledged, not at the next batch.
type checkpointStore struct {
	db  *manifest.DB
	job string
	log *slog.Logger
}

func (c checkpointStore) Load(dest, rel string) ([]byte, error) {
	return c.db.GetCheckpoint(c.job, dest, rel)
}

func (c checkpointStore) Save(dest, rel string, data []byte) error {
	return c.db.PutCheckpoint(c.job, dest, rel, data)
}

func (c checkpointStore) Delete(dest, rel string) error {
	return c.db.DeleteCheckpoint(c.job, dest, rel)
}

func (c checkpointStore) Warn(err error) {
	c.log.Warn("upload checkpoint not stored; a crash will send more again", "error", err)
}

// sendOptions are the job's settings for its sender.
func (j *jobRun) sendOptions() send.Options {
	o := send.Options{
		Pool:         transfer.NewBufferPool(int(j.job.ChunkSize)),
		Small:        transfer.NewBufferPool(min(smallFile, int(j.job.ChunkSize))),
		SmallFile:    smallFile,
		Xattrs:       j.job.Xattrs,
		MinResumable: minResumable,
		Read:         &j.c.Read,
	}
	switch j.job.Verify {
	case "none":
		o.Verify = send.VerifyNone
	case "all":
		o.Verify = send.VerifyAll
	default:
		o.Verify = send.VerifyTransferred
	}
	if j.a.fx.resumes() {
		o.Checkpoints = checkpointStore{db: j.a.db, job: j.job.Name, log: j.log}
	}
	return o
}
