package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/efssync/efssync/agent/report"

	"github.com/efssync/efssync/manifest"
	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/dryrun"
)

// effects is everything a run changes besides its destinations: the
// manifest, the source (archiving removes it), the run marker, and what the
// summary counts as done. A dry run swaps the whole set for one that
// changes nothing and prints the plan instead; its destinations are wrapped
// in transfer/dryrun. The choice is made once, in newEffects: nothing else
// in the agent asks whether a run is dry.
type effects interface {
	// wrap is the last decorator of every destination.
	wrap(d transfer.Destination) transfer.Destination
	// batch starts a manifest batch.
	batch(db *manifest.DB) batcher
	// removeSource removes an archived source file.
	removeSource(path string) error
	// mark creates the run marker and reports whether it was there already
	// (the last run crashed); unmark removes it.
	mark(path string) (crashed bool, err error)
	unmark(path string) error
	// done reports a change carried out (or, dry, planned): the status to
	// report, and the plan line a dry run prints.
	done(s Status, l planLine) Status
	// did adds n to a counter of work done; a dry run did nothing.
	did(counter *atomic.Int64, n int64)
	// planned counts a task handed to the workers: what a dry run plans.
	planned(c *report.Counters)
	// resumes tells whether upload checkpoints are kept.
	resumes() bool
	// sends tells whether a planned copy is carried out. A dry run plans
	// from the walk or the listing alone: it opens a source file (one that
	// cannot be opened shows in the plan) but reads none, makes no GET and
	// requests no archive restore, so a dry run of 10 TB or of 10 million
	// objects costs what its walk or listing costs.
	sends() bool
	// manifest returns the manifest path to open, and a directory to remove
	// when the agent closes (a dry run without a manifest opens a scratch one).
	manifest(path string) (open, scratch string, err error)
	// reports tells whether a report file is written.
	reports() bool
	// gc removes the leftovers of interrupted runs, or lists them.
	gc(ctx context.Context, a *Agent) (int, error)
}

// batcher is a manifest batch: manifest.Batch, or one that commits nothing.
type batcher interface {
	Put(job, rel string, r manifest.Record)
	Delete(job, rel string)
	Len() int
	Commit() error
}

func newEffects(o Options) effects {
	if o.DryRun {
		return dryEffects{out: o.PlanOut}
	}
	return realEffects{}
}

type realEffects struct{}

func (realEffects) wrap(d transfer.Destination) transfer.Destination { return d }
func (realEffects) batch(db *manifest.DB) batcher                    { return db.NewBatch() }
func (realEffects) removeSource(path string) error                   { return os.Remove(path) }
func (realEffects) done(s Status, _ planLine) Status                 { return s }
func (realEffects) did(counter *atomic.Int64, n int64)               { counter.Add(n) }
func (realEffects) planned(*report.Counters)                         {}
func (realEffects) resumes() bool                                    { return true }
func (realEffects) sends() bool                                      { return true }
func (realEffects) reports() bool                                    { return true }
func (realEffects) manifest(path string) (string, string, error)     { return path, "", nil }
func (realEffects) gc(ctx context.Context, a *Agent) (int, error)    { return a.gcRemove(ctx) }

func (realEffects) mark(path string) (bool, error) {
	_, err := os.Stat(path)
	crashed := err == nil
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		return crashed, fmt.Errorf("run marker %s: %w", path, err)
	}
	// The marker must outlive a power cut that hits the run it marks.
	if err := syncDir(filepath.Dir(path)); err != nil {
		return crashed, fmt.Errorf("run marker %s: %w", path, err)
	}
	return crashed, nil
}

func (realEffects) unmark(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("run marker: %w", err)
	}
	return nil
}

// dryEffects changes nothing and prints each planned change to out.
type dryEffects struct{ out io.Writer }

func (dryEffects) wrap(d transfer.Destination) transfer.Destination { return dryrun.New(d) }
func (dryEffects) batch(*manifest.DB) batcher                       { return &dryBatch{} }
func (dryEffects) removeSource(string) error                        { return nil }
func (dryEffects) mark(string) (bool, error)                        { return false, nil }
func (dryEffects) unmark(string) error                              { return nil }
func (dryEffects) did(*atomic.Int64, int64)                         {}
func (dryEffects) planned(c *report.Counters)                       { c.Planned.Add(1) }
func (dryEffects) resumes() bool                                    { return false }
func (dryEffects) sends() bool                                      { return false }
func (dryEffects) reports() bool                                    { return false }
func (dryEffects) gc(ctx context.Context, a *Agent) (int, error)    { return a.gcPlan(ctx) }

// manifest opens the real manifest read-only in effect (nothing commits to
// it), or a scratch one when there is none yet: a dry run must not create it.
func (dryEffects) manifest(path string) (string, string, error) {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return path, "", nil
	}
	dir, err := os.MkdirTemp("", "efssync-dryrun-")
	if err != nil {
		return "", "", fmt.Errorf("dry run: %w", err)
	}
	return filepath.Join(dir, "manifest.db"), dir, nil
}

func (e dryEffects) done(_ Status, l planLine) Status {
	if l.dest != "" {
		fmt.Fprintf(e.out, "%s\t%s\t%s\t%q\n", l.job, l.what, l.dest, l.rel)
	} else {
		fmt.Fprintf(e.out, "%s\t%s\t%q\n", l.job, l.what, l.rel)
	}
	return StatusPlanned
}

// planLine is one line of a dry run's plan, passed by value so a real run
// pays nothing for it.
type planLine struct {
	job, what, dest, rel string
}

// dryBatch counts what a batch would hold and commits nothing.
type dryBatch struct{ n int }

func (b *dryBatch) Put(string, string, manifest.Record) { b.n++ }
func (b *dryBatch) Delete(string, string)               { b.n++ }
func (b *dryBatch) Len() int                            { return b.n }
func (b *dryBatch) Commit() error                       { return nil }
