// Package supervise keeps long-running jobs alive: each job is a
// func(ctx) error, and one that fails is logged, counted and restarted
// after a backoff while the other jobs keep running. A watch-mode agent runs
// for days; one job's failed mount or lost inotify instance must not take
// the others down, nor stay down until someone restarts the service.
package supervise

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Job is one supervised unit of work. Run returns nil when the job is done
// for good (its context ended); an error means it failed and is restarted.
type Job struct {
	Name string
	Run  func(ctx context.Context) error
}

// Options tune the supervisor. The zero value is usable.
type Options struct {
	// MinBackoff is the wait before the first restart, doubled for each
	// failure in a row up to MaxBackoff. Defaults 1s and 1m.
	MinBackoff, MaxBackoff time.Duration
	// Log receives one line per failure. Default: discarded.
	Log *slog.Logger
	// Restarted, when set, is told of every restart (for a metric).
	Restarted func(job string)
}

func (o Options) withDefaults() Options {
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(time.Minute, o.MinBackoff)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Run runs every job until ctx ends, restarting each job that fails. It
// returns once every job has returned for good.
func Run(ctx context.Context, jobs []Job, opts Options) {
	opts = opts.withDefaults()
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() { keep(ctx, j, opts) })
	}
	wg.Wait()
}

// keep runs one job, again and again while it fails. A run that lasted
// longer than MaxBackoff was healthy: the next failure starts the backoff
// over.
func keep(ctx context.Context, j Job, o Options) {
	wait := o.MinBackoff
	for {
		start := time.Now()
		err := j.Run(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		if time.Since(start) > o.MaxBackoff {
			wait = o.MinBackoff
		}
		o.Log.Error("job failed; restarting", "job", j.Name, "error", err, "in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if o.Restarted != nil {
			o.Restarted(j.Name)
		}
		wait = min(2*wait, o.MaxBackoff)
	}
}
