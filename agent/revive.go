package agent

import (
	"time"

	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/transfer/retry"
)

// watchDownFor is how long a watch job leaves a destination marked down
// before it tries it again. A once run marks a failing destination down
// for the rest of the run; a watch run never ends, and a destination
// that came back (a remounted file system, a restarted server) must be
// written to again without restarting the agent.
const watchDownFor = 10 * time.Second

// revivable gives watch jobs' destinations a down mark that expires,
// measured on the agent's clock.
func (a *Agent) revivable(job config.Job, p retry.Policy) retry.Policy {
	if job.Mode == "watch" {
		p.DownFor = watchDownFor
		p.Now = a.opts.Now
	}
	return p
}

// reviveDests puts destinations a fatal error took out of the run back
// in before a watch rescan: "out of this run" would be forever in watch
// mode. One that is still failing is taken out again by its first
// operation (the retry decorator's own mark answers at once).
func (j *jobRun) reviveDests() {
	for _, d := range j.dests {
		if d.down.Swap(nil) != nil {
			j.log.Info("destination back in the run; trying it again", "dest", d.name)
			j.a.metrics.DestUp(j.job.Name, d.name, true)
		}
	}
}
