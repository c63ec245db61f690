package config

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// Overlap between the places a configuration names is judged on resolved
// paths: the real path (every symlink resolved) and the device and inode
// of the directories, so neither a symlink nor a bind mount hides that a
// destination is the source, lies inside another destination, or holds
// the agent's own state. Text comparison alone let a destination reached
// through a link truncate its own source, and a mirror delete remove the
// agent's manifest.
//
// Every place is indexed under its own identities (real path, device and
// inode, location in its file system); a place then looks up the
// identities of itself and of its ancestors. That costs the depth of the
// tree per place instead of a comparison of every pair, which took minutes
// for a configuration of 20,000 jobs.

// CheckOverlaps returns a *ValidationError listing every pair of places
// that must not overlap and do, naming both keys, or nil. Validate calls
// it; the agent calls it again when a job starts, because mounts and
// symlinks may have changed since the configuration was loaded.
func (c *Config) CheckOverlaps() error { return c.CheckOverlapsContext(context.Background()) }

// CheckOverlapsContext is CheckOverlaps that stops, returning ctx's error,
// when ctx is done.
func (c *Config) CheckOverlapsContext(ctx context.Context) error {
	return asError(c.overlapProblems(ctx))
}

// place is one configured path overlap is judged for.
type place struct {
	key, path string
	seq       int // report order
	job       int // the job of a source or destination; -1 for state
	real      string
	ids       []fileID // the real path and its ancestors, nearest first; zero where missing
	loc       fsLocation
	located   bool        // loc is known
	keys      [2][]string // identities of itself, and of the directories above it
}

// fileID names a directory (or file) independently of the path to it.
type fileID struct{ dev, ino uint64 }

// resolver resolves paths, remembering every directory it has seen: the
// places of a large configuration share most of their ancestors, and one
// system call per directory instead of one per place and ancestor keeps
// validation of thousands of jobs quick.
type resolver struct {
	mounts []mountEntry
	real   map[string]string
	ids    map[string]fileID
}

func newResolver() *resolver {
	return &resolver{mounts: readMounts(), real: map[string]string{}, ids: map[string]fileID{}}
}

func (r *resolver) resolve(p *place) {
	p.real = r.realPath(filepath.Clean(p.path))
	p.loc, p.located = locate(r.mounts, p.real)
	for d := p.real; ; d = filepath.Dir(d) {
		p.ids = append(p.ids, r.idOf(d))
		if d == filepath.Dir(d) {
			p.keys = [2][]string{p.computeIdentities(true), p.computeIdentities(false)}
			return
		}
	}
}

// realPath resolves every symlink of the clean path p, keeping the part
// that does not exist (yet) as written.
func (r *resolver) realPath(p string) string {
	if v, ok := r.real[p]; ok {
		return v
	}
	out := p
	if parent := filepath.Dir(p); parent != p {
		out = filepath.Join(r.realPath(parent), filepath.Base(p))
		if fi, err := os.Lstat(out); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			if e, err := filepath.EvalSymlinks(out); err == nil {
				out = e
			}
		}
	}
	r.real[p] = out
	return out
}

func (r *resolver) idOf(p string) fileID {
	if id, ok := r.ids[p]; ok {
		return id
	}
	var id fileID
	if fi, err := os.Stat(p); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			id = fileID{uint64(st.Dev), uint64(st.Ino)}
		}
	}
	r.ids[p] = id
	return id
}

// identities lists the keys place p is known by (self) or, with self false,
// the keys of the directories strictly above it: real path, device and
// inode, location in its file system. They are computed once, on resolving.
func (p *place) identities(self bool) []string {
	if self {
		return p.keys[0]
	}
	return p.keys[1]
}

func (p *place) computeIdentities(self bool) []string {
	var out []string
	ids, paths := p.ids[1:], ancestors
	if self {
		ids, paths = p.ids[:1], func(p string) []string { return []string{p} }
	}
	for _, id := range ids {
		if id != (fileID{}) {
			out = append(out, fmt.Sprintf("i%d:%d", id.dev, id.ino))
		}
	}
	for _, d := range paths(p.real) {
		out = append(out, "p"+d)
	}
	for _, d := range paths(p.loc.path) {
		if p.located {
			out = append(out, "l"+p.loc.dev+":"+d)
		}
	}
	return out
}

// ancestors lists the directories strictly above the clean path p.
func ancestors(p string) []string {
	var out []string
	for d := p; d != filepath.Dir(d); {
		d = filepath.Dir(d)
		out = append(out, d)
	}
	return out
}

const (
	relSame     = "is the same directory as"
	relInside   = "is inside"
	relContains = "contains"
)

// pairs calls fn, once per pair, for every place a of as that is the same
// directory as, or lies inside, a place b of bs other than itself.
func pairs(as, bs []*place, fn func(a, b *place, rel string)) {
	ix := map[string][]*place{}
	for _, b := range bs {
		for _, k := range b.identities(true) {
			ix[k] = append(ix[k], b)
		}
	}
	for _, a := range as {
		seen := []*place{a} // few: the places a overlaps
		for _, self := range []bool{true, false} {
			rel := relInside
			if self {
				rel = relSame
			}
			for _, k := range a.identities(self) {
				for _, b := range ix[k] {
					if !slices.Contains(seen, b) {
						seen = append(seen, b)
						fn(a, b, rel)
					}
				}
			}
		}
	}
}

// places collects the absolute paths to judge; relative or empty ones are
// already reported by validation.
func (c *Config) places(ctx context.Context) (state, sources, dests []*place, err error) {
	r := newResolver()
	seq := 0
	add := func(list []*place, key, path string, job int) []*place {
		if !filepath.IsAbs(path) {
			return list
		}
		p := &place{key: key, path: path, job: job, seq: seq}
		seq++
		r.resolve(p)
		return append(list, p)
	}
	for i, j := range c.Jobs {
		if err := ctx.Err(); err != nil {
			return nil, nil, nil, err
		}
		sources = add(sources, index("jobs", i)+".source", j.Source, i)
	}
	for i, j := range c.Jobs {
		if err := ctx.Err(); err != nil {
			return nil, nil, nil, err
		}
		for k, d := range j.Destinations {
			if d.Type == "fs" {
				dests = add(dests, index(index("jobs", i)+".destinations", k)+".path", d.Path, i)
			}
		}
	}
	state = add(state, "state_dir", c.StateDir, -1)
	// manifest, report_dir and the metrics textfile add nothing when they
	// live in state_dir.
	for _, s := range []struct{ key, path string }{{"manifest", c.Manifest}, {"report_dir", c.ReportDir}, {"metrics.textfile", c.Metrics.Textfile}} {
		if s.path != "" && !within(filepath.Clean(s.path), filepath.Clean(c.StateDir)) {
			state = add(state, s.key, s.path, -1)
		}
	}
	return state, sources, dests, nil
}

// overlap is one problem: "a rel b", and why it matters when that is not plain.
type overlap struct {
	a, b     *place
	rel, why string
}

// overlapProblems lists, with both keys: a destination overlapping its
// job's source (either way); two fs destinations (of one job or of two)
// that are the same directory or nested; the agent's state (manifest,
// reports, metrics textfile) inside any source or destination; and a source
// shared with another job that deletes its source after archiving, which
// would remove files the other job still reads.
func (c *Config) overlapProblems(ctx context.Context) ([]string, error) {
	state, sources, dests, err := c.places(ctx)
	if err != nil {
		return nil, err
	}
	var found []overlap
	seen := map[[2]int]bool{}
	// report names the place that appears later first: a destination
	// before a source, the state before either.
	report := func(a, b *place, rel, why string) {
		if a.seq < b.seq {
			a, b = b, a
			if rel == relInside {
				rel = relContains
			}
		}
		if !seen[[2]int{a.seq, b.seq}] {
			seen[[2]int{a.seq, b.seq}] = true
			found = append(found, overlap{a, b, rel, why})
		}
	}
	ownJob := func(a, b *place, rel string) {
		if a.job == b.job {
			report(a, b, rel, "")
		}
	}
	pairs(dests, sources, ownJob)
	pairs(sources, dests, ownJob)
	pairs(dests, dests, func(a, b *place, rel string) { report(a, b, rel, "") })
	pairs(state, append(slices.Clone(sources), dests...), func(a, b *place, rel string) { report(a, b, rel, "") })
	var deleting []*place
	for _, s := range sources {
		if c.Jobs[s.job].AfterArchive == "delete" {
			deleting = append(deleting, s)
		}
	}
	shared := func(a, b *place, rel string) {
		del := a.job
		if c.Jobs[del].AfterArchive != "delete" {
			del = b.job
		}
		if a.job != b.job {
			report(a, b, rel, fmt.Sprintf("; jobs[%d] has after_archive: delete and would remove files the other job still reads", del))
		}
	}
	pairs(sources, deleting, shared)
	pairs(deleting, sources, shared)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	slices.SortStableFunc(found, func(x, y overlap) int { return cmp.Or(cmp.Compare(x.a.seq, y.a.seq), cmp.Compare(x.b.seq, y.b.seq)) })
	out := make([]string, 0, len(found))
	for _, o := range found {
		out = append(out, o.message())
	}
	return out, nil
}

func (o overlap) message() string {
	a, b := o.a, o.b
	msg := fmt.Sprintf("%s: %q %s %s %q", a.key, a.path, o.rel, b.key, b.path)
	if a.real != filepath.Clean(a.path) || b.real != filepath.Clean(b.path) {
		msg += fmt.Sprintf(" (resolved: %s and %s)", a.real, b.real)
	}
	if a.located && b.located && a.loc.dev == b.loc.dev && (a.loc.path != a.real || b.loc.path != b.real) {
		msg += fmt.Sprintf(" (a bind mount: in their file system %s they are %s and %s)", a.loc.dev, a.loc.path, b.loc.path)
	}
	return msg + o.why
}
