package hls

import "sync"

// Gate enforces HLS ordering at one destination. It remembers which files
// are complete there and which references each published playlist holds, so
// that the agent publishes a playlist only after everything it lists has
// landed (a player never fetches a listed segment that 404s), and deletes a
// segment only once no playlist published there lists it any more.
//
// The zero value is ready to use. A Gate is safe for concurrent use; keep
// one per destination, since completeness differs between replicas.
type Gate struct {
	mu        sync.Mutex
	complete  map[string]struct{}
	published map[string][]string // playlist -> refs of its published version
	refcount  map[string]int      // path -> number of published playlists listing it
}

func (g *Gate) init() {
	if g.complete == nil {
		g.complete = make(map[string]struct{})
		g.published = make(map[string][]string)
		g.refcount = make(map[string]int)
	}
}

// MarkComplete records that rel is fully published at this destination.
func (g *Gate) MarkComplete(rel string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.init()
	g.complete[rel] = struct{}{}
}

// MarkRemoved records that rel no longer exists at this destination. If rel
// is a published playlist, its references are released as well.
func (g *Gate) MarkRemoved(rel string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.init()
	delete(g.complete, rel)
	if old, ok := g.published[rel]; ok {
		g.release(old)
		delete(g.published, rel)
	}
}

// Ready returns the references that are not yet complete at this
// destination, in the order given. An empty result means a playlist listing
// refs may be published now.
func (g *Gate) Ready(refs []string) (missing []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range refs {
		if _, ok := g.complete[r]; !ok {
			missing = append(missing, r)
		}
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

// Published records that a version of playlistRel listing refs is now what
// this destination serves, replacing the previous version's references, and
// marks the playlist itself complete (a master playlist may list it).
// released returns the paths the previous version listed that no published
// playlist lists any more: the candidates for deletion at this destination.
func (g *Gate) Published(playlistRel string, refs []string) (released []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.init()
	g.complete[playlistRel] = struct{}{}
	cp := append([]string(nil), refs...)
	for _, r := range cp {
		g.refcount[r]++
	}
	old := g.published[playlistRel]
	g.published[playlistRel] = cp
	return g.release(old)
}

// release drops one reference to each path and returns those left with none.
func (g *Gate) release(refs []string) (released []string) {
	for _, r := range refs {
		n := g.refcount[r] - 1
		if n > 0 {
			g.refcount[r] = n
			continue
		}
		delete(g.refcount, r)
		released = append(released, r)
	}
	return released
}

// Referenced reports whether a playlist published at this destination still
// lists rel; while it does, deleting rel there would break players.
func (g *Gate) Referenced(rel string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.refcount[rel] > 0
}
