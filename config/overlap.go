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
	located   bool // loc is known
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
// the keys of the directories strictly above it.
func (p *place) identities(self bool) []string {
	var out []string
	ids := p.ids[1:]
	if self {
		ids = p.ids[:1]
	}
	for _, id := range ids {
		if id != (fileID{}) {
			out = append(out, fmt.Sprintf("i%d:%d", id.dev, id.ino))
		}
	}
	paths := func(tag, p string) {
		if self {
			out = append(out, tag+p)
			return
		}
		for d := filepath.Dir(p); ; d = filepath.Dir(d) {
			out = append(out, tag+d)
			if d == filepath.Dir(d) {
				return
			}
		}
	}
	if p.real != filepath.Dir(p.real) || self {
		paths("p", p.real)
	}
	if p.located && (self || p.loc.path != filepath.Dir(p.loc.path)) {
		paths("l"+p.loc.dev+":", p.loc.path)
	}
	return out
}

// placeIndex finds places by their identities.
type placeIndex map[string][]*place

func indexOf(places ...[]*place) placeIndex {
	ix := placeIndex{}
	for _, list := range places {
		for _, p := range list {
			for _, k := range p.identities(true) {
				ix[k] = append(ix[k], p)
			}
		}
	}
	return ix
}

// hit is a place b that a is the same directory as, or lies inside.
type hit struct {
	b   *place
	rel string
}

const (
	relSame     = "is the same directory as"
	relInside   = "is inside"
	relContains = "contains"
)

// around lists, once each, the places of ix that a is or lies inside.
func (ix placeIndex) around(a *place) []hit {
	var out []hit
	seen := map[*place]bool{a: true}
	for _, self := range []bool{true, false} {
		rel := relInside
		if self {
			rel = relSame
		}
		for _, k := range a.identities(self) {
			for _, b := range ix[k] {
				if !seen[b] {
					seen[b] = true
					out = append(out, hit{b, rel})
				}
			}
		}
	}
	return out
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

// overlap is one problem: a and b overlap as rel says ("a rel b").
type overlap struct {
	a, b *place
	rel  string
	why  string
}

// overlapProblems lists, with both keys: a destination overlapping its
// job's source (either way); two fs destinations (of one job or of two)
// that are the same directory or nested; the agent's state (manifest,
// reports, metrics textfile) inside any source or destination; and a source
// shared with another job when either job deletes its source after
// archiving.
func (c *Config) overlapProblems(ctx context.Context) ([]string, error) {
	state, sources, dests, err := c.places(ctx)
	if err != nil {
		return nil, err
	}
	var found []overlap
	// later names the place that appears later first, as "a rel b".
	later := func(x, y *place, rel, why string) {
		if x.seq < y.seq {
			x, y = y, x
			if rel == relInside {
				rel = relContains
			}
		}
		found = append(found, overlap{x, y, rel, why})
	}
	srcOf := map[int]*place{}
	for _, s := range sources {
		srcOf[s.job] = s
	}
	destIx := indexOf(dests)
	for _, d := range dests {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if s := srcOf[d.job]; s != nil {
			if rel := relation(d, s); rel != "" {
				found = append(found, overlap{d, s, rel, ""})
			}
		}
		for _, h := range destIx.around(d) {
			if h.rel == relInside || h.b.seq < d.seq {
				later(d, h.b, h.rel, "")
			}
		}
	}
	placesIx := indexOf(sources, dests)
	for _, st := range state {
		for _, h := range placesIx.around(st) {
			found = append(found, overlap{st, h.b, h.rel, ""})
		}
	}
	shared, err := c.sharedArchiveSources(ctx, sources)
	if err != nil {
		return nil, err
	}
	found = append(found, shared...)
	slices.SortStableFunc(found, func(x, y overlap) int { return cmp.Or(cmp.Compare(x.a.seq, y.a.seq), cmp.Compare(x.b.seq, y.b.seq)) })
	out := make([]string, 0, len(found))
	for _, o := range found {
		out = append(out, o.message())
	}
	return out, nil
}

// sharedArchiveSources finds sources that are the same directory as, or
// nested in, the source of another job that deletes its source after
// archiving: that job would remove files the other still reads (and the
// other job would never see them).
func (c *Config) sharedArchiveSources(ctx context.Context, sources []*place) ([]overlap, error) {
	var deleting []*place
	for _, s := range sources {
		if c.Jobs[s.job].AfterArchive == "delete" {
			deleting = append(deleting, s)
		}
	}
	if len(deleting) == 0 {
		return nil, nil
	}
	type pair struct{ a, b int }
	seen := map[pair]bool{}
	var out []overlap
	note := func(inner, outer *place, rel string) {
		a, b := inner, outer
		if a.seq < b.seq {
			a, b = b, a
			if rel == relInside {
				rel = relContains
			}
		}
		if a.job == b.job || seen[pair{a.job, b.job}] {
			return
		}
		seen[pair{a.job, b.job}] = true
		del := a
		if c.Jobs[del.job].AfterArchive != "delete" {
			del = b
		}
		why := fmt.Sprintf("; jobs[%d] has after_archive: delete and would remove files the other job still reads", del.job)
		out = append(out, overlap{a, b, rel, why})
	}
	delIx, allIx := indexOf(deleting), indexOf(sources)
	for _, s := range sources {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for _, h := range delIx.around(s) {
			note(s, h.b, h.rel)
		}
	}
	for _, d := range deleting {
		for _, h := range allIx.around(d) {
			note(d, h.b, h.rel)
		}
	}
	return out, nil
}

func (o overlap) message() string {
	a, b := o.a, o.b
	msg := fmt.Sprintf("%s: %q %s %s %q", a.key, a.path, o.rel, b.key, b.path)
	if a.real != filepath.Clean(a.path) || b.real != filepath.Clean(b.path) {
		msg += fmt.Sprintf(" (resolved: %s and %s)", a.real, b.real)
	}
	if sameFS(a, b) && (a.loc.path != a.real || b.loc.path != b.real) {
		msg += fmt.Sprintf(" (a bind mount: in their file system %s they are %s and %s)", a.loc.dev, a.loc.path, b.loc.path)
	}
	return msg + o.why
}

// relation says how a stands to b: "is the same directory as", "is inside",
// "contains", or "" when they do not overlap.
func relation(a, b *place) string {
	own := func(p *place) fileID { return p.ids[0] }
	switch {
	case a.real == b.real || (own(a) != fileID{} && own(a) == own(b)) || sameFS(a, b) && a.loc.path == b.loc.path:
		return relSame
	case within(a.real, b.real) || below(a, own(b)) || sameFS(a, b) && within(a.loc.path, b.loc.path):
		return relInside
	case within(b.real, a.real) || below(b, own(a)) || sameFS(a, b) && within(b.loc.path, a.loc.path):
		return relContains
	}
	return ""
}

// sameFS reports whether a and b are known to lie in one file system, so
// their locations in it compare (a bind mount shows through them).
func sameFS(a, b *place) bool {
	return a.located && b.located && a.loc.dev == b.loc.dev
}

// below reports whether a directory with id lies strictly above p.
func below(p *place, id fileID) bool {
	return id != (fileID{}) && slices.Contains(p.ids[1:], id)
}
