package s3client

import (
	"testing"
	"time"
)

// feed gives w n answers of latency, one every step after *at, and returns
// the largest size seen.
func feed(w *window, at *time.Time, n int, step, latency time.Duration) int {
	peak := 0
	for range n {
		*at = at.Add(step)
		peak = max(peak, w.observe(sample{at: *at, latency: latency}))
	}
	return peak
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestWindowGrowsToMax: answers at a steady latency (no queueing) open the
// window up to its maximum, doubling per round trip at first, never past it.
func TestWindowGrowsToMax(t *testing.T) {
	w := newWindow(32, 8, 256)
	at := t0
	// Slow start: one more per answer, so 32 answers double 32.
	feed(w, &at, 32, time.Millisecond, 15*time.Millisecond)
	if got := w.size(); got != 64 {
		t.Fatalf("after 32 steady answers: size %d, want 64", got)
	}
	if peak := feed(w, &at, 1000, time.Millisecond, 15*time.Millisecond); peak != 256 || w.size() != 256 {
		t.Fatalf("steady latency: peak %d, size %d, want 256 (the maximum)", peak, w.size())
	}
}

// TestWindowCutsOnQueueing: once answers take more than twice the floor,
// the window shrinks, at most once per round trip, down to its minimum
// and not below; slow start ends with the first cut.
func TestWindowCutsOnQueueing(t *testing.T) {
	w := newWindow(32, 8, 256)
	at := t0
	feed(w, &at, 68, time.Millisecond, 15*time.Millisecond)
	if w.size() != 100 {
		t.Fatalf("size %d, want 100", w.size())
	}
	// Latency jumps to 200 ms: the smoothed latency passes 2×15 ms + 2 ms
	// after a few answers, then the window is cut by a fifth.
	feed(w, &at, 3, 0, 200*time.Millisecond)
	cut := w.size()
	if cut != 80 {
		t.Fatalf("after queueing: size %d, want 80 (100 × 0.8)", cut)
	}
	// Answers in the same round trip show the same queue: no second cut.
	feed(w, &at, 20, time.Millisecond, 200*time.Millisecond)
	if w.size() != cut {
		t.Fatalf("a second cut within one round trip: size %d, want %d", w.size(), cut)
	}
	// Queueing that lasts cuts round trip after round trip, to the minimum.
	feed(w, &at, 200, 50*time.Millisecond, 200*time.Millisecond)
	if w.size() != 8 {
		t.Fatalf("lasting queueing: size %d, want the minimum 8", w.size())
	}
	// Latency back at its floor: the window grows again, by one per window
	// of answers now (slow start ended): 8 answers at size 8 add one.
	feed(w, &at, 40, time.Millisecond, 15*time.Millisecond) // the smoothed latency settles
	before := w.size()
	feed(w, &at, before, time.Millisecond, 15*time.Millisecond)
	if got := w.size(); got != before+1 {
		t.Fatalf("additive increase: %d answers at size %d gave %d, want %d", before, before, got, before+1)
	}
}

// TestWindowThrottled: a throttling answer halves the window, once per
// round trip, whatever the latency.
func TestWindowThrottled(t *testing.T) {
	w := newWindow(64, 8, 256)
	at := t0
	feed(w, &at, 10, time.Millisecond, 10*time.Millisecond) // smoothed latency 10 ms
	if w.size() != 74 {
		t.Fatalf("size %d, want 74", w.size())
	}
	w.observe(sample{at: at, throttled: true})
	w.observe(sample{at: at.Add(time.Millisecond), throttled: true})
	if w.size() != 37 {
		t.Fatalf("two throttled answers in one round trip: size %d, want 37", w.size())
	}
	w.observe(sample{at: at.Add(20 * time.Millisecond), throttled: true})
	if w.size() != 18 {
		t.Fatalf("throttled a round trip later: size %d, want 18", w.size())
	}
}

// TestWindowFloorForgets: after the round trip rises for good (a route
// change), the old floor is forgotten within two epochs and the window
// opens again instead of staying at its minimum.
func TestWindowFloorForgets(t *testing.T) {
	w := newWindow(32, 8, 256)
	at := t0
	feed(w, &at, 100, time.Millisecond, time.Millisecond)
	feed(w, &at, 2*epochSamples, 10*time.Millisecond, 40*time.Millisecond)
	if w.floor != 40*time.Millisecond {
		t.Fatalf("floor %v after two epochs at 40 ms, want 40ms", w.floor)
	}
	low := w.size()
	feed(w, &at, 400, time.Millisecond, 40*time.Millisecond)
	if w.size() <= low {
		t.Fatalf("window stuck at %d after the floor moved, want it to grow", w.size())
	}
}

// TestWindowBounds: the start is clamped into [min, max], and a minimum
// above the maximum gives way to it.
func TestWindowBounds(t *testing.T) {
	for _, c := range []struct{ initial, min, max, want int }{
		{32, 8, 256, 32}, {1000, 8, 10, 10}, {0, 8, 256, 8}, {32, 20, 10, 10}, {5, 0, 0, 1},
	} {
		if got := newWindow(c.initial, c.min, c.max).size(); got != c.want {
			t.Errorf("newWindow(%d, %d, %d): size %d, want %d", c.initial, c.min, c.max, got, c.want)
		}
	}
}
