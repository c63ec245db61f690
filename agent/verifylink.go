package agent

import (
	"context"
	"fmt"
	"os"

	"github.com/efssync/efssync/agent/walk"

	"github.com/efssync/efssync/transfer"
)

// linkReader is a destination that can read back a published symlink's
// target (fsdest).
type linkReader interface {
	Readlink(ctx context.Context, rel string) (string, error)
}

// verifyLinkTarget compares the target of the symlink published at d with
// the source's: a link repointed at the source, or at the destination, is
// a difference (issue 11, weak spots). It returns "" when they agree or d
// cannot read links back.
func verifyLinkTarget(ctx context.Context, d transfer.Destination, e walk.Entry) string {
	lr, ok := transfer.As[linkReader](d)
	if !ok {
		return ""
	}
	want, err := os.Readlink(e.Abs())
	if err != nil {
		return "source unreadable: " + err.Error()
	}
	got, err := lr.Readlink(ctx, e.Rel)
	if err != nil {
		return "unreadable: " + err.Error()
	}
	if got != want {
		return fmt.Sprintf("symlink target is %q, source has %q", got, want)
	}
	return ""
}
