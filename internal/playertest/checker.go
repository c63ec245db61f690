package playertest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/efssync/efssync/agent/livefmt"
)

// Checker reads the manifests a replica serves, as a file server there
// would, and records each moment one names a file the replica does not
// hold whole (or, for a byte range, up to the range's end): a manifest
// violation, what a viewer would meet as a 404 or a short segment.
type Checker struct {
	// Src is the source directory; Replica the directory the file server
	// serves (for a FUSE mount, its backing directory).
	Src, Replica string
	Rules        livefmt.Rules
	// Manifests are the manifest paths to read, relative to Replica.
	Manifests []string

	mu         sync.Mutex
	bad        []string
	violations int
	polls      int
	checked    int
	named      map[string]struct{}
	lateNamed  map[string]struct{}
	last       map[string][]byte // manifest -> bytes last read
	versions   int
}

// Run checks every period until ctx ends.
func (c *Checker) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, m := range c.Manifests {
			c.check(m)
		}
	}
}

func (c *Checker) check(rel string) {
	c.mu.Lock()
	c.polls++
	if c.named == nil {
		c.named, c.lateNamed, c.last = map[string]struct{}{}, map[string]struct{}{}, map[string][]byte{}
	}
	c.mu.Unlock()
	abs := filepath.Join(c.Replica, filepath.FromSlash(rel))
	data, err := os.ReadFile(abs)
	if err != nil {
		return
	}
	c.mu.Lock()
	if !bytes.Equal(c.last[rel], data) {
		c.versions++
		c.last[rel] = data
	}
	c.mu.Unlock()
	refs, err := c.Rules.Needs(rel, data, time.Now())
	if err != nil {
		c.fail(rel, "", fmt.Sprintf("served manifest does not parse: %v", err))
		return
	}
	// A violation counts only if the manifest read before the file is
	// still the one served after it: a newer version may have dropped it.
	stillServed := func() bool {
		again, err := os.ReadFile(abs)
		return err == nil && bytes.Equal(again, data)
	}
	for _, r := range refs {
		c.mu.Lock()
		c.checked++
		c.named[r.Path] = struct{}{}
		c.mu.Unlock()
		fi, err := os.Stat(filepath.Join(c.Replica, filepath.FromSlash(r.Path)))
		switch {
		case err != nil:
			if stillServed() {
				c.fail(rel, r.Path, "missing")
			}
		case r.End > 0:
			if fi.Size() < r.End && stillServed() {
				c.fail(rel, r.Path, fmt.Sprintf("holds %d bytes, the manifest names up to %d", fi.Size(), r.End))
			}
		default:
			sfi, err := os.Stat(filepath.Join(c.Src, filepath.FromSlash(r.Path)))
			if err == nil && sfi.Size() != fi.Size() && stillServed() {
				c.fail(rel, r.Path, fmt.Sprintf("incomplete (%d of %d bytes)", fi.Size(), sfi.Size()))
			}
		}
	}
}

func (c *Checker) fail(manifest, ref, why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.violations++
	if ref != "" {
		c.lateNamed[ref] = struct{}{}
	}
	if len(c.bad) < 20 {
		c.bad = append(c.bad, fmt.Sprintf("%s names %s: %s", manifest, ref, why))
	}
}

// CheckReport is what a Checker saw.
type CheckReport struct {
	Polls, Checked, Violations int
	// Versions counts the manifest versions seen served: a live replica
	// serves a new one per segment, a replica holding manifests back until
	// the stream ends serves one.
	Versions int
	// Named counts the distinct files served manifests named; Early those
	// named at least once before they were there.
	Named, Early int
	// Examples are the first violations, described.
	Examples []string
}

// Report returns what the checker saw so far.
func (c *Checker) Report() CheckReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CheckReport{Polls: c.polls, Checked: c.checked, Violations: c.violations, Versions: c.versions,
		Named: len(c.named), Early: len(c.lateNamed), Examples: append([]string(nil), c.bad...)}
}
