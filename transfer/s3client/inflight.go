package s3client

import (
	"math"
	"time"
)

// window decides how many requests may wait for S3 at once. A fixed number
// is right for one network only: over loopback 64 requests queue at the
// server, while 15 ms away the same 64 leave the link idle most of the
// time. The window instead follows what each answer shows:
//
//   - Little's law: requests in flight = request rate × latency. While more
//     requests in flight raise the rate, latency stays near its floor (the
//     network's round trip plus the server's work); once the server or the
//     link is saturated, more requests only wait longer. So latency well
//     above its floor means the window is too large.
//   - A throttling answer (503 SlowDown, 429) means the same, said by S3.
//
// It grows like TCP's slow start (one more per answer: doubling every
// round trip) until the first sign of queueing, then by one per window's
// worth of answers (additive increase), and shrinks by a fraction at most
// once per round trip (multiplicative decrease), within [min, max].
//
// window holds no clock: every sample says when its answer came, so tests
// drive it with made-up times and get the same decisions every run.
type window struct {
	limit, min, max float64
	slowStart       bool

	floor     time.Duration // least latency seen in this and the previous epoch
	epochMin  time.Duration // least latency seen in this epoch
	prevMin   time.Duration
	epochLeft int
	smooth    time.Duration // exponentially smoothed latency
	lastCut   time.Time
}

// Tuning of window. The constants are argued in the comments on observe;
// docs/BENCHMARKS.md has the rows measured with them.
const (
	// epochSamples is how many answers one latency floor lasts. The floor
	// must forget: after a route change, a floor from before would read
	// every later answer as queueing and pin the window at its minimum.
	epochSamples = 512
	// queueSlack is latency above twice the floor that still counts as
	// noise. Over loopback the floor is a fraction of a millisecond, and
	// twice that is scheduler noise on a busy host, not queueing.
	queueSlack = 2 * time.Millisecond
	// cutFactor is what a cut keeps of the window on queueing; throttled
	// answers halve it.
	cutFactor = 0.8
)

// sample is one answer: when it came, how long it took from the request's
// start to the answer's first byte, and whether S3 asked to slow down.
type sample struct {
	at        time.Time
	latency   time.Duration
	throttled bool
}

// newWindow starts at initial requests, within [minimum, maximum].
func newWindow(initial, minimum, maximum int) *window {
	maximum = max(maximum, 1)
	minimum = min(max(minimum, 1), maximum)
	return &window{
		limit: float64(min(max(initial, minimum), maximum)),
		min:   float64(minimum), max: float64(maximum),
		slowStart: true,
		floor:     math.MaxInt64, epochMin: math.MaxInt64, prevMin: math.MaxInt64,
		epochLeft: epochSamples,
	}
}

// size is the window's current size in whole requests.
func (w *window) size() int { return int(w.limit) }

// observe updates the window from one answer and returns its new size.
func (w *window) observe(s sample) int {
	if s.throttled {
		w.cut(s.at, 0.5)
		return w.size()
	}
	w.track(s.latency)
	// Queueing: the smoothed latency is more than twice its floor (each
	// request waits at least as long as it is served) by more than noise.
	if w.smooth > 2*w.floor+queueSlack {
		w.cut(s.at, cutFactor)
		return w.size()
	}
	if w.slowStart {
		w.limit++
	} else {
		w.limit += 1 / w.limit
	}
	w.limit = min(w.limit, w.max)
	return w.size()
}

// track folds latency into the floor and the smoothed latency.
func (w *window) track(latency time.Duration) {
	w.epochMin = min(w.epochMin, latency)
	w.epochLeft--
	if w.epochLeft <= 0 {
		w.prevMin, w.epochMin, w.epochLeft = w.epochMin, math.MaxInt64, epochSamples
	}
	w.floor = min(w.prevMin, w.epochMin)
	if w.smooth == 0 {
		w.smooth = latency
	} else {
		w.smooth += (latency - w.smooth) / 8
	}
}

// cut shrinks the window by factor, at most once per smoothed round trip:
// the answers to requests sent before a cut still show the old queue, and
// counting each of them would collapse the window for one congested moment.
func (w *window) cut(at time.Time, factor float64) {
	w.slowStart = false
	if !w.lastCut.IsZero() && at.Sub(w.lastCut) < max(w.smooth, time.Millisecond) {
		return
	}
	w.lastCut = at
	w.limit = max(w.limit*factor, w.min)
}
