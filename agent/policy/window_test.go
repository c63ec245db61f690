package policy

import (
	"errors"
	"testing"
	"time"
)

// watchDelete asks DeleteAllowed as watch mode does for one delete of an
// event, and records it in w when allowed.
func watchDelete(w *DeleteWindow, now time.Time, owned int) error {
	c := DeleteCheck{Source: "/src", Dest: "d", Gone: 1, Owned: owned, Recent: w.Recent(now),
		Limit: func(n int) int { return n / 10 }, Rule: "10%"}
	if err := DeleteAllowed(c); err != nil {
		return err
	}
	w.Add(now, 1)
	return nil
}

// A live HLS stream deletes its oldest segment as each new one lands: over
// a simulated day (injected clock) with three renditions of 2 s segments
// and a 30 min DVR window, that is 90 deletes a minute out of a tree of
// 2,703 entries, which a one-minute window and max_delete 10% must allow
// every time. Then `rm -rf` of the tree in one burst is stopped at 10%.
func TestDeleteWindowKeepsHLSSlidingWindowAndStopsMassDelete(t *testing.T) {
	const renditions, dvr = 3, 900
	w := &DeleteWindow{Span: time.Minute}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	owned := renditions*dvr + renditions // segments and playlists
	for step := 0; step < 24*3600/2; step++ {
		now = now.Add(2 * time.Second)
		for r := 0; r < renditions; r++ {
			// The new segment is written (and published), then the oldest goes.
			w.Published(now, 1)
			if err := watchDelete(w, now, owned+1); err != nil {
				t.Fatalf("step %d: sliding-window delete refused: %v", step, err)
			}
		}
	}
	now = now.Add(time.Millisecond)
	allowed := 0
	for range owned {
		err := watchDelete(w, now, owned-allowed)
		if err == nil {
			allowed++
			continue
		}
		if !errors.Is(err, ErrDeleteRefused) {
			t.Fatalf("refusal does not wrap ErrDeleteRefused: %v", err)
		}
	}
	// What the stream deleted in the last minute counts too.
	if limit := owned / 10; w.Recent(now) > limit {
		t.Fatalf("rm -rf deleted %d of %d, more than max_delete 10%% (%d) within the window", allowed, owned, limit)
	}
	if allowed == 0 {
		t.Fatalf("no delete allowed at all")
	}
}

// A steady stream of deletes faster than max_delete per window (10 a
// second against a tree of 1,000) is refused after the window fills, and
// allowed again once the window has passed.
func TestDeleteWindowRefusesSteadyDeletesAboveTheLimit(t *testing.T) {
	w := &DeleteWindow{Span: time.Minute}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	owned, done, refused := 1000, 0, 0
	for i := 0; i < 600; i++ {
		now = now.Add(100 * time.Millisecond)
		if err := watchDelete(w, now, owned-done); err != nil {
			refused++
			if i == 0 || refused == 1 && !w.Refused() {
				t.Fatalf("the first refusal must be the one to log")
			}
			continue
		}
		done++
	}
	if done > 100 || refused == 0 {
		t.Fatalf("%d deleted, %d refused within one minute; want at most 100 deleted", done, refused)
	}
	if w.Refused() {
		t.Fatalf("a second refusal within the window asks to be logged again")
	}
	now = now.Add(2 * time.Minute)
	if err := watchDelete(w, now, owned-done); err != nil {
		t.Fatalf("delete after the window passed: %v", err)
	}
}

// A stream that keeps only its sliding window (6 segments and a playlist,
// where max_delete 10% allows no delete at all) goes on for a simulated
// day: each new segment published offsets the delete of the oldest.
func TestDeleteWindowSmallLiveTree(t *testing.T) {
	w := &DeleteWindow{Span: time.Minute}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for step := 0; step < 24*3600/2; step++ {
		now = now.Add(2 * time.Second)
		w.Published(now, 1)
		if err := watchDelete(w, now, 7); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
	}
}
