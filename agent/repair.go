package agent

import (
	"context"
	"fmt"
	"io"
	"io/fs"

	"github.com/efssync/efssync/agent/plan"

	"github.com/efssync/efssync/agent/report"
	"github.com/efssync/efssync/agent/walk"

	"golang.org/x/sync/errgroup"

	"github.com/efssync/efssync/config"
)

// drift is one source entry that verify found missing or different at
// some destinations.
type drift struct {
	e     walk.Entry
	dests []int
}

// Repair is Verify followed by the fix: every entry found missing or
// different is sent again to exactly the destinations where it differs,
// recorded in the manifest, and verified once more. It writes verify's line
// per difference, then "repaired" or "not repaired" per entry and
// destination, and returns the differences that remain (0: all repaired).
// It needs the manifest exclusively, like a run.
func (a *Agent) Repair(ctx context.Context, out io.Writer) (remaining int, err error) {
	for _, job := range a.selected() {
		n, err := a.repairJob(ctx, job, out)
		remaining += n
		if err != nil {
			return remaining, fmt.Errorf("job %s: %w", job.Name, err)
		}
	}
	return remaining, nil
}

func (a *Agent) repairJob(ctx context.Context, job config.Job, out io.Writer) (int, error) {
	rep, err := report.Open("")
	if err != nil {
		return 0, err
	}
	j, err := a.newJobRun(ctx, job, rep, &report.Counters{})
	if err != nil {
		return 0, err
	}
	unreadable := 0
	var found []drift
	err = walk.Tree(ctx, j.src, j.filter, func(e walk.Entry) error {
		var dr drift
		for i, d := range j.dests {
			if why, _ := j.verifyEntry(ctx, d, e); why != "" {
				fmt.Fprintf(out, "%s\t%s\t%q\t%s\n", job.Name, d.name, e.Rel, why)
				dr.dests = append(dr.dests, i)
			}
		}
		if len(dr.dests) > 0 {
			dr.e = e
			found = append(found, dr)
		}
		return nil
	}, func(rel string, err error) {
		unreadable++
		fmt.Fprintf(out, "%s\t-\t%q\tsource unreadable: %v\n", job.Name, rel, err)
	})
	if err != nil {
		return unreadable + len(found), err
	}
	if err := j.resend(ctx, found); err != nil {
		return unreadable + len(found), err
	}
	remaining := unreadable
	for _, dr := range found {
		for _, i := range dr.dests {
			d := j.dests[i]
			if why, _ := j.verifyEntry(ctx, d, dr.e); why != "" {
				remaining++
				fmt.Fprintf(out, "%s\t%s\t%q\tnot repaired: %s\n", job.Name, d.name, dr.e.Rel, why)
				continue
			}
			fmt.Fprintf(out, "%s\t%s\t%q\trepaired\n", job.Name, d.name, dr.e.Rel)
		}
	}
	return remaining, nil
}

// resend publishes each drifted entry again at the destinations where it
// differs, through the job's ordinary pipeline and recorder: directories
// first, in walk order (parents before children), then files and links in
// parallel.
func (j *jobRun) resend(ctx context.Context, found []drift) error {
	if len(found) == 0 {
		return nil
	}
	stop := j.startRecorder(ctx)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(j.job.Concurrency)
	for _, dr := range found {
		rec, known, err := j.a.db.Get(j.job.Name, dr.e.Rel)
		if err != nil {
			j.log.Warn("manifest record unreadable; sending again", "path", dr.e.Rel, "error", err)
			known = false
		}
		t := task{e: dr.e, st: dr.e.St, prev: rec, known: known, act: plan.Action{Dests: dr.dests}}
		switch {
		case dr.e.Mode.IsDir():
			t.act.Kind = plan.KindMkdir
			j.deliver(j.mkdir(ctx, t))
			continue
		case dr.e.Mode&fs.ModeSymlink != 0:
			t.act.Kind = plan.KindSymlink
		default:
			t.act.Kind = plan.KindCopy
		}
		g.Go(func() error {
			j.execute(gctx, t)
			return nil
		})
	}
	err := g.Wait()
	if serr := stop(); err == nil {
		err = serr
	}
	return err
}
