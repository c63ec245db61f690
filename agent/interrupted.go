package agent

import (
	"context"
	"time"
)

// StatusInterrupted is the report's last line when a once-mode run was
// stopped (SIGTERM, SIGINT) before it finished: a cut-over script must not
// read the report, or the exit status, as "everything is in sync".
const StatusInterrupted Status = "interrupted"

// markInterrupted records in sum and in the report that ctx ended the run
// before every job finished.
func markInterrupted(ctx context.Context, sum *Summary, rep *reporter, now time.Time) {
	if ctx.Err() == nil {
		return
	}
	sum.Interrupted = true
	rep.write(Line{Time: now, Status: StatusInterrupted,
		Error: "the run was interrupted (" + context.Cause(ctx).Error() + ") before it finished; not everything is in sync"})
}
