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
		s, ok := transfer.As[transfer.Syncer](d.d)
		if !ok {
			continue
		}
		if err := s.Sync(context.WithoutCancel(ctx)); err != nil {
			j.log.Error("destination sync at the end of the run failed", "dest", d.name, "error", err)
		}
	}
}
