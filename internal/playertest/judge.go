package playertest

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Acceptance reports whether the long live-stream runs and the Chromium
// player are asked for (make acceptance-live sets EFSSYNC_ACCEPTANCE=1);
// make test runs the short versions only, within CI's time.
func Acceptance() bool { return os.Getenv("EFSSYNC_ACCEPTANCE") == "1" }

// Verdict sums up the events of one viewing.
type Verdict struct {
	Started bool
	Ended   bool
	// Played is the furthest media time reported, in seconds.
	Played float64
	Errors []Event
	// Stalls are the times the buffer ran dry after playback started.
	Stalls []Event
}

// Judge reads a viewing's events.
func Judge(ev []Event) Verdict {
	var v Verdict
	for _, e := range ev {
		switch e.Type {
		case "started":
			v.Started = true
		case "ended":
			v.Ended = true
		case "error":
			v.Errors = append(v.Errors, e)
		case "stall":
			v.Stalls = append(v.Stalls, e)
		}
		if e.Type == "time" || e.Type == "ended" {
			if f, err := strconv.ParseFloat(e.Detail, 64); err == nil && f > v.Played {
				v.Played = f
			}
		}
	}
	return v
}

// PlayedTo returns a DASHOptions.Until that ends the viewing once media
// time sec was reached, or the video ended. dash.js does not always fire
// 'ended' when a live manifest turns static, so the media time is what
// tells that the whole stream was seen.
func PlayedTo(sec float64) func([]Event) bool {
	return func(ev []Event) bool {
		v := Judge(ev)
		return v.Ended || v.Played >= sec
	}
}

// waitFile waits until dir holds name (the encoder wrote its first
// manifest), failing if the encoder exits first.
func waitFile(t testing.TB, dir, name string, encoderDone <-chan struct{}) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return
		}
		select {
		case <-encoderDone:
			t.Fatalf("encoder exited before writing %s", name)
		case <-tick.C:
		}
	}
}
