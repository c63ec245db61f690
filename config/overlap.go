package config

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Overlap between the places a configuration names is judged on resolved
// paths: the real path (every symlink resolved) and the device and inode
// of the directories, so neither a symlink nor a bind mount hides that a
// destination is the source, lies inside another destination, or holds
// the agent's own state. Text comparison alone let a destination reached
// through a link truncate its own source, and a mirror delete remove the
// agent's manifest.

// CheckOverlaps returns a *ValidationError listing every pair of places
// that must not overlap and do, naming both keys, or nil. Validate calls
// it; the agent calls it again when a job starts, because mounts and
// symlinks may have changed since the configuration was loaded.
func (c *Config) CheckOverlaps() error {
	if p := c.overlapProblems(); len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

// place is one configured path overlap is judged for.
type place struct {
	key, path string
	job       int  // the job a source or destination belongs to; -1 for state
	source    bool // the job's source, not a destination
	real      string
	ids       []fileID // the real path and its ancestors, nearest first; zero where missing
	loc       fsLocation
	located   bool // loc is known
}

// fileID names a directory (or file) independently of the path to it.
type fileID struct{ dev, ino uint64 }

func (p *place) resolve(mounts []mountEntry) {
	p.real = realPath(p.path)
	p.loc, p.located = locate(mounts, p.real)
	for d := p.real; ; d = filepath.Dir(d) {
		p.ids = append(p.ids, idOf(d))
		if d == filepath.Dir(d) {
			return
		}
	}
}

// realPath resolves every symlink of the longest existing prefix of p and
// appends the part that does not exist (yet) as written.
func realPath(p string) string {
	existing, rest := filepath.Clean(p), ""
	for {
		if r, err := filepath.EvalSymlinks(existing); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(existing)
		if parent == existing {
			return filepath.Clean(p)
		}
		rest = filepath.Join(filepath.Base(existing), rest)
		existing = parent
	}
}

func idOf(p string) fileID {
	fi, err := os.Stat(p)
	if err != nil {
		return fileID{}
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}
	}
	return fileID{uint64(st.Dev), uint64(st.Ino)}
}

// relation says how a stands to b: "is the same directory as", "is inside",
// "contains", or "" when they do not overlap.
func relation(a, b *place) string {
	own := func(p *place) fileID { return p.ids[0] }
	switch {
	case a.real == b.real || (own(a) != fileID{} && own(a) == own(b)) || sameFS(a, b) && a.loc.path == b.loc.path:
		return "is the same directory as"
	case within(a.real, b.real) || below(a, own(b)) || sameFS(a, b) && within(a.loc.path, b.loc.path):
		return "is inside"
	case within(b.real, a.real) || below(b, own(a)) || sameFS(a, b) && within(b.loc.path, a.loc.path):
		return "contains"
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
	if id == (fileID{}) {
		return false
	}
	for _, anc := range p.ids[1:] {
		if anc == id {
			return true
		}
	}
	return false
}

// places collects the absolute paths to judge; relative or empty ones are
// already reported by validation.
func (c *Config) places() (state, sources, dests []*place) {
	mounts := readMounts()
	add := func(list []*place, key, path string, job int, source bool) []*place {
		if !filepath.IsAbs(path) {
			return list
		}
		p := &place{key: key, path: path, job: job, source: source}
		p.resolve(mounts)
		return append(list, p)
	}
	state = add(state, "state_dir", c.StateDir, -1, false)
	// manifest and report_dir add nothing when they live in state_dir.
	for _, s := range []struct{ key, path string }{{"manifest", c.Manifest}, {"report_dir", c.ReportDir}} {
		if s.path != "" && !within(filepath.Clean(s.path), filepath.Clean(c.StateDir)) {
			state = add(state, s.key, s.path, -1, false)
		}
	}
	for i, j := range c.Jobs {
		sources = add(sources, index("jobs", i)+".source", j.Source, i, true)
		for k, d := range j.Destinations {
			if d.Type == "fs" {
				dests = add(dests, index(index("jobs", i)+".destinations", k)+".path", d.Path, i, false)
			}
		}
	}
	return state, sources, dests
}

// overlapProblems lists, with both keys: a destination overlapping its
// job's source (either way), two fs destinations (of one job or of two)
// that are the same directory or nested, and the agent's state inside any
// source or destination.
func (c *Config) overlapProblems() []string {
	state, sources, dests := c.places()
	var out []string
	report := func(a, b *place, rel string) {
		msg := fmt.Sprintf("%s: %q %s %s %q", a.key, a.path, rel, b.key, b.path)
		if a.real != filepath.Clean(a.path) || b.real != filepath.Clean(b.path) {
			msg += fmt.Sprintf(" (resolved: %s and %s)", a.real, b.real)
		}
		if sameFS(a, b) && (a.loc.path != a.real || b.loc.path != b.real) {
			msg += fmt.Sprintf(" (a bind mount: in their file system %s they are %s and %s)", a.loc.dev, a.loc.path, b.loc.path)
		}
		out = append(out, msg)
	}
	for i, d := range dests {
		for _, s := range sources {
			if s.job == d.job {
				if rel := relation(d, s); rel != "" {
					report(d, s, rel)
				}
			}
		}
		for _, e := range dests[:i] {
			if rel := relation(d, e); rel != "" {
				report(d, e, rel)
			}
		}
	}
	for _, st := range state {
		for _, p := range append(append([]*place{}, sources...), dests...) {
			if rel := relation(st, p); rel == "is inside" || rel == "is the same directory as" {
				report(st, p, rel)
			}
		}
	}
	return out
}
