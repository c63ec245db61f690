package report

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Retention bounds the report directory, which otherwise grows by one
// file per run, forever, under a timer that runs every 15 minutes.
type Retention struct {
	// Keep is how many report files stay; 0 keeps any number.
	Keep int
	// MaxAge removes files last written longer ago than this; 0 keeps them.
	MaxAge time.Duration
}

// Prune removes the run reports (run-*.jsonl) of dir that the
// retention rules no longer keep, oldest first, and returns what it removed.
// Other files in dir are never touched. A missing dir is no error.
func Prune(dir string, r Retention, now time.Time) ([]string, error) {
	if r.Keep <= 0 && r.MaxAge <= 0 {
		return nil, nil
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("report directory %s: %w", dir, err)
	}
	type report struct {
		name string
		mod  time.Time
	}
	var reps []report
	for _, e := range ents {
		n := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(n, "run-") || !strings.HasSuffix(n, ".jsonl") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		reps = append(reps, report{n, info.ModTime()})
	}
	// Names carry the start time in UTC, so they sort oldest first.
	slices.SortFunc(reps, func(a, b report) int { return strings.Compare(a.name, b.name) })
	var removed []string
	var errs []error
	for i, rp := range reps {
		tooMany := r.Keep > 0 && len(reps)-i > r.Keep
		tooOld := r.MaxAge > 0 && now.Sub(rp.mod) > r.MaxAge
		if !tooMany && !tooOld {
			continue
		}
		p := filepath.Join(dir, rp.name)
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove old report %s: %w", p, err))
			continue
		}
		removed = append(removed, p)
	}
	return removed, errors.Join(errs...)
}
