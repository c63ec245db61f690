package agent

import (
	"context"

	"github.com/efssync/efssync/transfer"
)

// releaseDests syncs every destination once more when the job's results
// end, even when nothing is left to record: Sync is also where an fs
// destination closes the directory descriptors it caches, and a run that
// failed or was stopped (an upload aborted after the last batch) must not
// keep its mount busy. It calls the innermost Sync, past the retry
// decorator, which refuses every operation of a destination marked down.
// Errors are not reported: nothing recorded depends on this sync, and the
// next batch (or run) syncs again.
func (j *jobRun) releaseDests(ctx context.Context) {
	for _, d := range j.dests {
		if s := innermostSyncer(d.d); s != nil {
			_ = s.Sync(context.WithoutCancel(ctx))
		}
	}
}

// innermostSyncer is the last Syncer in d's chain of decorators.
func innermostSyncer(d transfer.Destination) transfer.Syncer {
	var last transfer.Syncer
	for d != nil {
		if s, ok := d.(transfer.Syncer); ok {
			last = s
		}
		u, ok := d.(transfer.Unwrapper)
		if !ok {
			break
		}
		d = u.Unwrap()
	}
	return last
}
