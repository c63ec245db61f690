package playertest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/efssync/efssync/internal/testbin"
)

// DashJSFile is where scripts/install-test-deps.sh puts the pinned dash.js
// build, below <repo>/.bin.
const DashJSFile = "dashjs/node_modules/dashjs/dist/modern/umd/dash.all.min.js"

// page is the viewer: dash.js plays the manifest named by ?mpd= muted and
// reports the player's and the video element's events to /events. "stall"
// is a 'waiting' of the video element after playback started: the buffer
// ran dry.
const page = `<!doctype html>
<html><head><meta charset="utf-8"><script src="/player/dash.all.min.js"></script></head>
<body><video id="v" muted autoplay playsinline></video>
<script>
const t0 = performance.now();
function post(type, detail) {
  fetch('/events', {method: 'POST', body: JSON.stringify({type: type, detail: String(detail || ''), at: performance.now() - t0})});
}
const q = new URLSearchParams(location.search);
const v = document.getElementById('v');
let started = false;
v.addEventListener('playing', () => { if (!started) { started = true; post('started', v.currentTime); } });
v.addEventListener('waiting', () => post(started ? 'stall' : 'buffering', v.currentTime));
v.addEventListener('ended', () => post('ended', v.currentTime));
v.addEventListener('error', () => post('error', 'video element: ' + (v.error && v.error.message)));
setInterval(() => post('time', v.currentTime), 1000);
post('loaded', typeof dashjs);
fetch('/ready?file=' + encodeURIComponent(q.get('file'))).then(() => {
  const p = dashjs.MediaPlayer().create();
  p.updateSettings({streaming: {delay: {liveDelay: Number(q.get('delay') || 4)}}});
  p.on(dashjs.MediaPlayer.events.ERROR, e => post('error', JSON.stringify(e.error || e)));
  p.initialize(v, q.get('mpd'), true);
}).catch(e => post('error', 'setup: ' + e));
</script></body></html>`

func (s *Server) page(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(page))
}

// DASHOptions tune a dash.js viewing.
type DASHOptions struct {
	// LiveDelay is dash.js's distance behind the live edge, in seconds
	// (default 4): a real deployment sets one to ride out jitter.
	LiveDelay float64
	// Until ends the viewing when it returns true for the events so far,
	// checked on each new event (typically: an "ended" event).
	Until func([]Event) bool
}

// Viewer is one dash.js viewing in headless Chromium.
type Viewer struct {
	s       *Server
	opts    DASHOptions
	cancel  context.CancelFunc
	exited  chan error
	stderr  *bytes.Buffer
	stopped bool
}

// StartDASH opens the viewer page for the manifest at mpdRel (relative to
// the served directory) in headless Chromium and returns once dash.js has
// loaded there; the page then waits for the manifest to exist and plays
// it. Starting the viewer before the encoder lets it watch the stream from
// its first segment on a loaded machine, where Chromium takes seconds to
// start. A missing Chromium or dash.js fails the test under CI=true and
// skips it elsewhere.
func StartDASH(ctx context.Context, t testing.TB, s *Server, mpdRel string, opts DASHOptions) *Viewer {
	t.Helper()
	chromium := testbin.Find(t, "EFSSYNC_CHROMIUM", "chromium")
	s.Asset("/player/dash.all.min.js", testbin.Find(t, "EFSSYNC_DASHJS", DashJSFile))
	if opts.LiveDelay == 0 {
		opts.LiveDelay = 4
	}
	q := url.Values{"mpd": {s.URL + "/" + mpdRel}, "file": {mpdRel}, "delay": {fmt.Sprint(opts.LiveDelay)}}
	cctx, cancel := context.WithCancel(ctx)
	v := &Viewer{s: s, opts: opts, cancel: cancel, exited: make(chan error, 1), stderr: &bytes.Buffer{}}
	cmd := exec.CommandContext(cctx, chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
		"--no-first-run", "--mute-audio", "--autoplay-policy=no-user-gesture-required",
		"--disable-background-timer-throttling", "--disable-renderer-backgrounding",
		"--user-data-dir="+filepath.Join(t.TempDir(), "chromium"),
		s.URL+"/page/dash.html?"+q.Encode())
	cmd.Stderr = v.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("chromium: %v", err)
	}
	go func() { v.exited <- cmd.Wait() }()
	t.Cleanup(func() { v.stop() })
	for !hasEvent(s.Events(), "loaded") {
		select {
		case <-ctx.Done():
			t.Fatalf("dash.js page did not load: %v", ctx.Err())
		case err := <-v.exited:
			v.stopped = true
			t.Fatalf("chromium exited before the page loaded: %v\n%s", err, lastLines(v.stderr.String(), 20))
		case <-s.ev:
		}
	}
	return v
}

// Wait lets the viewing go on until opts.Until says so or ctx ends, and
// returns the page's events.
func (v *Viewer) Wait(ctx context.Context, t testing.TB) []Event {
	t.Helper()
	for v.opts.Until == nil || !v.opts.Until(v.s.Events()) {
		select {
		case <-ctx.Done():
			v.stop()
			return v.s.Events()
		case err := <-v.exited:
			v.stopped = true
			t.Errorf("chromium exited early: %v\n%s", err, lastLines(v.stderr.String(), 20))
			return v.s.Events()
		case <-v.s.ev:
		}
	}
	v.stop()
	return v.s.Events()
}

func (v *Viewer) stop() {
	if v.stopped {
		return
	}
	v.stopped = true
	v.cancel()
	<-v.exited
}

func hasEvent(ev []Event, typ string) bool {
	for _, e := range ev {
		if e.Type == typ {
			return true
		}
	}
	return false
}

func lastLines(s string, n int) string {
	lines := bytes.Split([]byte(s), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
