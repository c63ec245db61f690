package agent

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/efssync/efssync/agent/report"

	"github.com/efssync/efssync/agent/supervise"
	"github.com/efssync/efssync/config"
)

// superviseWatch runs every watch-mode job under the supervisor until ctx
// ends: a job that fails is logged, counted in efssync_job_restarts_total
// and restarted with backoff, while the other jobs keep running. It calls
// Notify("READY=1") once every job finished its first initial pass, and
// Notify("WATCHDOG=1") while the loops are alive. It returns each job's
// counters.
func (a *Agent) superviseWatch(ctx context.Context, jobs []config.Job, rep *report.Writer) []*report.Counters {
	var pending atomic.Int64
	pending.Store(int64(len(jobs)))
	cs := make([]*report.Counters, len(jobs))
	sjobs := make([]supervise.Job, 0, len(jobs)+1)
	for i, job := range jobs {
		cs[i] = &report.Counters{}
		var readyOnce sync.Once
		ready := func() {
			a.opts.Log.Info("initial sync done; watching", "job", job.Name)
			readyOnce.Do(func() {
				if pending.Add(-1) == 0 {
					a.notify("READY=1")
				}
			})
		}
		sjobs = append(sjobs, supervise.Job{Name: job.Name, Run: func(ctx context.Context) error {
			return a.watchJob(ctx, job, rep, cs[i], ready)
		}})
	}
	if every := a.opts.WatchdogEvery; every > 0 {
		sjobs = append(sjobs, supervise.Job{Name: "watchdog", Run: func(ctx context.Context) error {
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-t.C:
					a.notify("WATCHDOG=1")
				}
			}
		}})
	}
	supervise.Run(ctx, sjobs, supervise.Options{Log: a.opts.Log,
		Restarted: a.metrics.Restarted})
	return cs
}

// watchJob is one run of a watch-mode job, from its start to ctx's end or
// its failure.
func (a *Agent) watchJob(ctx context.Context, job config.Job, rep *report.Writer, c *report.Counters, ready func()) error {
	j, l, err := a.newWatchRun(ctx, job, rep, c)
	if err == nil {
		defer j.syncDests(ctx)
		err = j.cleanupIfCrashed(ctx)
	}
	if err == nil {
		err = l.run(ctx, ready)
	}
	if err == nil {
		err = j.markClean()
	}
	if err != nil {
		return fmt.Errorf("job %s: %w", job.Name, err)
	}
	return nil
}
