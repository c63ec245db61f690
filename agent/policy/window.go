package policy

import (
	"sync"
	"time"
)

// DeleteWindow remembers the deletes one destination made over the last
// Span, so that watch mode, which deletes one event at a time, can ask
// DeleteAllowed about all of them together. Without it each event is a
// delete of one entry, always within max_delete, and `rm -rf src/*` while
// the agent runs emptied the replica one file at a time (issue 20 #3).
// It holds state only; the rule stays in DeleteAllowed, which takes
// Recent as an input. The clock is the caller's, so tests drive it.
// Files published within the window offset deletes: a live stream's
// sliding window adds a segment for each it deletes, so its tree does not
// shrink, while `rm -rf` only deletes. Each destination has its own.
type DeleteWindow struct {
	mu sync.Mutex
	// Span is how far back deletes count. A live stream's sliding window
	// deletes a few segments per Span, a small share of its tree; a mass
	// delete makes thousands within one Span.
	Span time.Duration
	at   []time.Time
	n    []int
	// refusing is set from a refusal until the window is empty again, so
	// a burst of refusals is logged once.
	refusing bool
}

// Recent returns how many entries were deleted within Span before now,
// less those published meanwhile: below 0 when the tree grew.
func (w *DeleteWindow) Recent(now time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	cut := 0
	for cut < len(w.at) && now.Sub(w.at[cut]) >= w.Span {
		cut++
	}
	w.at, w.n = w.at[cut:], w.n[cut:]
	if len(w.at) == 0 {
		w.refusing = false // the burst is over
	}
	sum := 0
	for _, k := range w.n {
		sum += k
	}
	return sum
}

// Add records that n entries were deleted at now.
func (w *DeleteWindow) Add(now time.Time, n int) {
	if n <= 0 {
		return
	}
	w.add(now, n)
}

// Published records that n entries were published at now.
func (w *DeleteWindow) Published(now time.Time, n int) {
	if n <= 0 {
		return
	}
	w.add(now, -n)
}

func (w *DeleteWindow) add(now time.Time, n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.at = append(w.at, now)
	w.n = append(w.n, n)
}

// Refused records a refusal and reports whether it is the first since the
// window was last empty, in which case the caller logs it: a mass delete
// is logged once, not once per event.
func (w *DeleteWindow) Refused() (first bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	first = !w.refusing
	w.refusing = true
	return first
}
