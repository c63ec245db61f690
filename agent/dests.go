package agent

import (
	"context"
	"fmt"
	"os"

	"golang.org/x/time/rate"

	"github.com/efssync/efssync/agent/livefmt"
	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/fsdest"
	"github.com/efssync/efssync/transfer/limit"
	"github.com/efssync/efssync/transfer/retry"
	"github.com/efssync/efssync/transfer/s3dest"
)

// openDestinations builds a job's destinations and wraps each in the shared
// decorators: retries, the job's bandwidth limit, and dry-run.
func (a *Agent) openDestinations(ctx context.Context, job config.Job) ([]*destination, error) {
	var out []*destination
	// One limiter for the whole job: bandwidth is what the job may send,
	// counted at every destination it sends to.
	var lim *rate.Limiter
	if job.Bandwidth > 0 {
		lim = rate.NewLimiter(rate.Limit(job.Bandwidth), int(max(job.ChunkSize, 64<<10)))
	}
	for i, dc := range job.Destinations {
		d, err := a.openDestination(ctx, job, dc)
		if err != nil {
			return nil, fmt.Errorf("destinations[%d] %s: %w", i, dc.Name, err)
		}
		if a.opts.WrapDest != nil {
			d = a.opts.WrapDest(d)
		}
		d = decorate(d, lim, a.revivable(job, retryPolicy(dc)))
		d = a.fx.wrap(d)
		hf, _ := transfer.As[transfer.HashFirster](d)
		out = append(out, &destination{name: dc.Name, d: d, hashFirst: hf})
	}
	return out, nil
}

// decorate wraps a destination in the behaviour every destination shares.
// The limiter sits inside the retry decorator: a retried write sends its
// bytes again, and they are charged again.
func decorate(d transfer.Destination, lim *rate.Limiter, p retry.Policy) transfer.Destination {
	return retry.New(limit.New(d, lim), p)
}

// retryPolicy gives each destination one retry owner. S3 requests are
// retried by the AWS SDK's retryer, which sees each request (a part upload
// runs in the background, where no decorator can repeat it); the decorator
// then tries each operation once and only counts transport failures to
// mark the destination down. Mounted file systems are retried by the
// decorator.
func retryPolicy(dc config.Destination) retry.Policy {
	if dc.Type == "s3" {
		return retry.Policy{MaxAttempts: 1}
	}
	return retry.Policy{}
}

func (a *Agent) openDestination(ctx context.Context, job config.Job, dc config.Destination) (transfer.Destination, error) {
	var d transfer.Destination
	switch dc.Type {
	case "fs":
		rules, err := livefmt.New(job.Order)
		if err != nil {
			return nil, err
		}
		fd, err := fsdest.New(dc.Name, dc.Path, fsdest.Options{
			Xattrs:      job.Xattrs,
			Chown:       ownersApplied(),
			Progressive: job.Publish == "progressive",
			// A player must never read a manifest half-written.
			Atomic:      rules.IsManifest,
			TempTag:     a.tag,
			ResumeEvery: restoreSyncEvery(job),
		})
		if err != nil {
			return nil, err
		}
		d = fd
	case "s3":
		sd, err := s3dest.New(ctx, s3dest.Options{
			Name: dc.Name, Bucket: dc.Bucket, Prefix: dc.Prefix, Region: dc.Region,
			Endpoint: dc.Endpoint, PathStyle: dc.PathStyle, StorageClass: dc.StorageClass,
			SSE: dc.SSE, KMSKeyID: dc.KMSKeyID, Tags: dc.Tags,
			PartSize: int64(dc.PartSize), PartConcurrency: dc.PartConcurrency,
			Concurrency: job.Concurrency,
		})
		if err != nil {
			return nil, err
		}
		d = sd
	default:
		return nil, fmt.Errorf("destination type %q is not supported", dc.Type)
	}
	return d, nil
}

// ownersApplied reports whether destinations are given the source's owners:
// only root may chown. Publishing and verify ask it alike.
func ownersApplied() bool { return os.Geteuid() == 0 }
