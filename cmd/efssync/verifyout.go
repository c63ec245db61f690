package main

import (
	"context"
	"fmt"
	"io"

	"github.com/efssync/efssync/agent"
)

// runVerify is `efssync verify` without --repair: one line per difference
// or error, then always one summary line, so an operator sees that
// everything was checked even when nothing differs. Differences (repair
// helps) and errors (an authorization failure, an unreadable file: it
// does not) are counted apart. Exit 0 in sync, 1 otherwise.
func runVerify(ctx context.Context, a *agent.Agent, out io.Writer) error {
	res, err := a.VerifyCount(ctx, out)
	if err != nil {
		// A job that could not be verified at all is an error, counted.
		res.Errors++
	}
	fmt.Fprintln(out, verifySummary(res))
	if err != nil {
		return err
	}
	if res.Differ+res.Errors > 0 {
		return errSyncFailed
	}
	return nil
}

// verifySummary is verify's closing line.
func verifySummary(r agent.VerifyResult) string {
	if r.Differ == 0 && r.Errors == 0 {
		return fmt.Sprintf("%d files checked, all in sync", r.Checked)
	}
	return fmt.Sprintf("%d files checked: %d differ, %d errors", r.Checked, r.Differ, r.Errors)
}
