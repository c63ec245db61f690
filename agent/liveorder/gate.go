package liveorder

import "sync"

// Gate enforces the ordering rule at one destination. It remembers which
// files are whole there, how much of each file written in place is there,
// and which files each served manifest names, so that the agent serves a
// manifest only after everything it names has landed (a player never
// fetches a named segment that 404s or comes back short), and deletes a
// file only once no manifest served there names it any more.
//
// The zero value is ready to use. A Gate is safe for concurrent use; keep
// one per destination, since what has landed differs between replicas.
type Gate struct {
	mu       sync.Mutex
	complete map[string]struct{}
	// length is how many leading bytes of a file written in place
	// (progressive publish) the destination holds.
	length    map[string]int64
	published map[string][]string // manifest -> paths its served version names
	refcount  map[string]int      // path -> number of served manifests naming it
}

func (g *Gate) init() {
	if g.complete == nil {
		g.complete = make(map[string]struct{})
		g.length = make(map[string]int64)
		g.published = make(map[string][]string)
		g.refcount = make(map[string]int)
	}
}

// MarkComplete records that rel is whole at this destination.
func (g *Gate) MarkComplete(rel string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.init()
	g.complete[rel] = struct{}{}
}

// MarkLength records that bytes [0, n) of rel, written in place, are at
// this destination. n == 0 means the file was started over: whatever was
// there, whole or not, is gone.
func (g *Gate) MarkLength(rel string, n int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.init()
	if n == 0 {
		delete(g.complete, rel)
	}
	g.length[rel] = n
}

// MarkRemoved records that rel no longer exists at this destination. If rel
// is a served manifest, the files it names are released as well.
func (g *Gate) MarkRemoved(rel string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.init()
	delete(g.complete, rel)
	delete(g.length, rel)
	if old, ok := g.published[rel]; ok {
		g.release(old)
		delete(g.published, rel)
	}
}

// Missing returns the references that are not yet at this destination, in
// the order given: a file not whole there, or, for a byte range, a file of
// which fewer than End bytes are there. An empty result means a manifest
// naming refs may be served now.
func (g *Gate) Missing(refs []Ref) (missing []Ref) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range refs {
		if _, ok := g.complete[r.Path]; ok {
			continue
		}
		if r.End > 0 && g.length[r.Path] >= r.End {
			continue
		}
		missing = append(missing, r)
	}
	return missing
}

// IsComplete reports whether rel has been marked complete and not removed.
func (g *Gate) IsComplete(rel string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.complete[rel]
	return ok
}

// Published records that a version of manifestRel naming refs is now what
// this destination serves, replacing the previous version's references, and
// marks the manifest itself complete (an HLS master playlist names its
// variants). released returns the paths the previous version named that no
// served manifest names any more: the candidates for deletion here.
func (g *Gate) Published(manifestRel string, refs []Ref) (released []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.init()
	g.complete[manifestRel] = struct{}{}
	cp := make([]string, len(refs))
	for i, r := range refs {
		cp[i] = r.Path
		g.refcount[r.Path]++
	}
	old := g.published[manifestRel]
	g.published[manifestRel] = cp
	return g.release(old)
}

// release drops one reference to each path and returns those left with none.
func (g *Gate) release(paths []string) (released []string) {
	for _, p := range paths {
		n := g.refcount[p] - 1
		if n > 0 {
			g.refcount[p] = n
			continue
		}
		delete(g.refcount, p)
		released = append(released, p)
	}
	return released
}

// Referenced reports whether a manifest served at this destination still
// names rel; while it does, deleting rel there would break players.
func (g *Gate) Referenced(rel string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.refcount[rel] > 0
}
