package s3client

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Bounds of the adaptive request window (Options.MaxInFlight).
const (
	// minInFlight keeps enough requests waiting that a window cut by a
	// burst of slow answers still covers a round trip of small objects.
	minInFlight = 8
	// initialInFlight is where the window starts before any answer.
	initialInFlight = 32
	// gatedBody is the largest request body that goes through the gate.
	// A larger one (a multipart part) is limited by the link, not by the
	// round trip: its time to answer measures bandwidth, and it is already
	// bounded by part_concurrency.
	gatedBody = 1 << 20
)

// gate is an http.RoundTripper that lets at most the window's size of
// requests wait for their answer at once, and feeds every answer's latency
// back into the window. A slot is held from sending until the answer's
// headers arrive: that wait is what the round trip costs; reading the body
// is the link's bandwidth, bounded elsewhere.
type gate struct {
	next http.RoundTripper

	mu      sync.Mutex
	w       *window
	inUse   int
	waiters []chan struct{} // FIFO; closed when granted a slot
}

func newGate(next http.RoundTripper, maxInFlight int) *gate {
	return &gate{next: next, w: newWindow(initialInFlight, minInFlight, maxInFlight)}
}

// RoundTrip waits for a slot, sends req, and reports the answer's latency.
func (g *gate) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.ContentLength < 0 || req.ContentLength > gatedBody {
		return g.next.RoundTrip(req)
	}
	if err := g.acquire(req.Context()); err != nil {
		return nil, err
	}
	start := time.Now()
	resp, err := g.next.RoundTrip(req)
	end := time.Now()
	g.mu.Lock()
	if err == nil {
		throttled := resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests
		g.w.observe(sample{at: end, latency: end.Sub(start), throttled: throttled})
	}
	g.inUse--
	g.grantLocked()
	g.mu.Unlock()
	return resp, err
}

// acquire takes a slot, waiting in order behind earlier requests.
func (g *gate) acquire(ctx context.Context) error {
	g.mu.Lock()
	if len(g.waiters) == 0 && g.inUse < g.w.size() {
		g.inUse++
		g.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	g.waiters = append(g.waiters, ch)
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		for i, c := range g.waiters {
			if c == ch {
				g.waiters = append(g.waiters[:i], g.waiters[i+1:]...)
				return ctx.Err()
			}
		}
		// Granted while giving up: hand the slot on.
		g.inUse--
		g.grantLocked()
		return ctx.Err()
	}
}

// grantLocked gives free slots to the longest waiters.
func (g *gate) grantLocked() {
	for len(g.waiters) > 0 && g.inUse < g.w.size() {
		close(g.waiters[0])
		g.waiters = g.waiters[1:]
		g.inUse++
	}
}

// size is the window's current size, for tests and logs.
func (g *gate) size() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.w.size()
}
