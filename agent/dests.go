package agent

import (
	"context"
	"fmt"
	"os"

	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/fsdest"
)

// openDestinations builds a job's destinations and wraps each in the shared
// decorators: retries, the job's bandwidth limit, and dry-run.
func (a *Agent) openDestinations(ctx context.Context, job config.Job) ([]*destination, error) {
	var out []*destination
	for i, dc := range job.Destinations {
		d, err := a.openDestination(ctx, job, dc)
		if err != nil {
			return nil, fmt.Errorf("destinations[%d] %s: %w", i, dc.Name, err)
		}
		out = append(out, &destination{name: dc.Name, d: d})
	}
	return out, nil
}

func (a *Agent) openDestination(ctx context.Context, job config.Job, dc config.Destination) (transfer.Destination, error) {
	var d transfer.Destination
	switch dc.Type {
	case "fs":
		fd, err := fsdest.New(dc.Name, dc.Path, fsdest.Options{
			Xattrs:      job.Xattrs,
			Chown:       os.Geteuid() == 0,
			Progressive: job.Publish == "progressive",
		})
		if err != nil {
			return nil, err
		}
		d = fd
	default:
		return nil, fmt.Errorf("destination type %q is not supported", dc.Type)
	}
	return d, nil
}
