package agent

import (
	"context"

	"github.com/efssync/efssync/transfer"
)

// releaseDests syncs every destination once more when the job's results
// end, even when nothing is left to record: Sync is also where an fs
// destination closes the directory descriptors it caches, and a run that
// failed or was stopped (an upload aborted after the last batch) must not
// keep its mount busy. Errors are not reported: nothing recorded depends
// on this sync, and the next batch (or run) syncs again.
func (j *jobRun) releaseDests(ctx context.Context) {
	for _, d := range j.dests {
		if s, ok := transfer.As[transfer.Syncer](d.d); ok {
			_ = s.Sync(context.WithoutCancel(ctx))
		}
	}
}
