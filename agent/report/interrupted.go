package report

import (
	"context"
	"time"
)

// MarkInterrupted records in sum and in the report that ctx ended the run
// before every job finished.
func MarkInterrupted(ctx context.Context, sum *Summary, rep *Writer, now time.Time) {
	if ctx.Err() == nil {
		return
	}
	sum.Interrupted = true
	rep.Write(Line{Time: now, Status: StatusInterrupted,
		Error: "the run was interrupted (" + context.Cause(ctx).Error() + ") before it finished; not everything is in sync"})
}
