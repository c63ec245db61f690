package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sync"

	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/transfer/s3dest"
)

// Preflight checks, once at start, what would otherwise fail file by file
// or job by job: each selected job's source must be a directory, each fs
// destination's root must exist (a missing one usually means its file
// system is not mounted), and each S3 destination must have credentials, an
// endpoint that answers and a bucket it may use. Each problem is reported
// once (a root shared by several jobs is named once, at its first key).
//
// It returns a copy of cfg without what failed, so the rest runs: a job
// whose source is missing, or with no usable destination left, is dropped;
// an unusable destination is removed from its job. dropped lists the jobs
// removed entirely.
func Preflight(ctx context.Context, cfg *config.Config, only []string) (out *config.Config, dropped []string, problems []error) {
	c := *cfg
	out = &c
	s3 := s3Checks(ctx, cfg, only)
	seen := map[string]bool{}
	var jobs []config.Job
	for i, j := range cfg.Jobs {
		if len(only) > 0 && !slices.Contains(only, j.Name) {
			jobs = append(jobs, j)
			continue
		}
		if j.From.IsS3() {
			if err := s3[s3Key(sourcePlace(j.From))]; err != nil {
				problems = append(problems, fmt.Errorf("jobs[%d].source: %w", i, err))
				dropped = append(dropped, j.Name)
				continue
			}
		} else if err := checkDir(j.Source); err != nil {
			problems = append(problems, fmt.Errorf("jobs[%d].source %s: %w", i, j.Source, err))
			dropped = append(dropped, j.Name)
			continue
		}
		var keep []config.Destination
		for k, d := range j.Destinations {
			key := fmt.Sprintf("jobs[%d].destinations[%d]", i, k)
			var err error
			switch d.Type {
			case "fs":
				if err = checkDir(d.Path); err != nil {
					err = fmt.Errorf("%s.path %s: %w (is its file system mounted?)", key, d.Path, err)
				}
				if err != nil && seen[d.Path] {
					continue // named once already
				}
				seen[d.Path] = true
			case "s3":
				if err = s3[s3Key(d)]; err != nil {
					if seen[s3Key(d)] {
						continue
					}
					seen[s3Key(d)] = true
					err = fmt.Errorf("%s: %w", key, err)
				}
			}
			if err != nil {
				problems = append(problems, err)
				continue
			}
			keep = append(keep, d)
		}
		if len(keep) == 0 {
			dropped = append(dropped, j.Name)
			continue
		}
		j.Destinations = keep
		jobs = append(jobs, j)
	}
	out.Jobs = jobs
	return out, dropped, problems
}

// checkDir reports why path is not a usable directory.
func checkDir(path string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errors.New("does not exist")
	case err != nil:
		return err
	case !st.IsDir():
		return errors.New("is not a directory")
	}
	return nil
}

// s3Key identifies the place an S3 destination reaches: two destinations
// with the same key succeed or fail together.
func s3Key(d config.Destination) string {
	return d.Endpoint + "\x00" + d.Region + "\x00" + d.Bucket
}

// s3Checks preflights every distinct S3 place of the selected jobs at once,
// so several unreachable buckets cost one timeout, not one each.
func s3Checks(ctx context.Context, cfg *config.Config, only []string) map[string]error {
	out := map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, j := range cfg.Jobs {
		if len(only) > 0 && !slices.Contains(only, j.Name) {
			continue
		}
		places := j.Destinations
		if j.From.IsS3() {
			places = append([]config.Destination{sourcePlace(j.From)}, places...)
		}
		for _, d := range places {
			k := s3Key(d)
			if d.Type != "s3" {
				continue
			}
			mu.Lock()
			_, dup := out[k]
			out[k] = nil
			mu.Unlock()
			if dup {
				continue
			}
			wg.Go(func() {
				err := preflightS3(ctx, d)
				mu.Lock()
				out[k] = err
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	return out
}

func preflightS3(ctx context.Context, d config.Destination) error {
	sd, err := s3dest.New(ctx, s3dest.Options{
		Name: d.Name, Bucket: d.Bucket, Prefix: d.Prefix, Region: d.Region,
		Endpoint: d.Endpoint, PathStyle: d.PathStyle,
	})
	if err != nil {
		return err
	}
	return sd.Preflight(ctx)
}

// sourcePlace is an S3 source as the place the preflight checks: a
// restore's bucket gets the same one clear message (credentials, endpoint,
// bucket) as an archive's.
func sourcePlace(s config.Source) config.Destination {
	return config.Destination{Type: "s3", Name: s.String(), S3Location: s.S3Location}
}
