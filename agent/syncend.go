package agent

import (
	"context"

	"github.com/efssync/efssync/transfer"
)

// syncDests makes every destination's published entries durable and lets
// it release what it holds (fsdest closes its cached directory
// descriptors in Sync; it has no Close). It runs at the end of every run,
// a failed one included, so no descriptor keeps a mount busy after a run
// that published nothing since its last batch.
func (j *jobRun) syncDests(ctx context.Context) {
	for _, d := range j.dests {
		if err := syncDest(context.WithoutCancel(ctx), d.d); err != nil {
			j.log.Error("destination sync at the end of the run failed", "dest", d.name, "error", err)
		}
	}
}

// syncDest makes what was written to d durable, where d can (a Syncer);
// a destination without the ability needs nothing. It is the one flush of
// a destination in every mode: before a manifest commit, after deletes,
// before an archive releases its source, before a playlist is published,
// and at the end of a run.
func syncDest(ctx context.Context, d transfer.Destination) error {
	if s, ok := transfer.As[transfer.Syncer](d); ok {
		return s.Sync(ctx)
	}
	return nil
}
