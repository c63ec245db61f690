package playertest

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/efssync/efssync/internal/testbin"
)

// isMedia counts manifests and segments, not the player's own files.
func isMedia(rel string) bool {
	for _, ext := range []string{".mpd", ".m3u8", ".m4s", ".mp4", ".ts"} {
		if strings.HasSuffix(rel, ext) {
			return true
		}
	}
	return false
}

// encode runs the encoder for format into dir in the background; done is
// closed when it exits.
func encode(t *testing.T, format, dir string, seconds int) (manifest string, done <-chan struct{}) {
	t.Helper()
	ffmpeg := testbin.Find(t, "EFSSYNC_FFMPEG", "ffmpeg")
	args, manifest, err := EncodeArgs(format, dir, seconds)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ffmpeg, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		if err := cmd.Wait(); err != nil {
			t.Errorf("encoder: %v\n%s", err, stderr.String())
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-ch })
	return manifest, ch
}

// The harness itself, against the encoder's own directory: the reference
// player plays a live DASH stream from start to end with no failed
// request, no error and no stall. A replica must do as well.
func TestDashJSPlaysEncoderDirectory(t *testing.T) {
	if testing.Short() || !Acceptance() {
		t.Skip("plays a 12 s stream in Chromium: make acceptance-live")
	}
	dir := t.TempDir()
	s := Serve(t, dir)
	const seconds = 12
	ctx, cancel := context.WithTimeout(context.Background(), seconds*time.Second+90*time.Second)
	defer cancel()
	v := StartDASH(ctx, t, s, "live.mpd", DASHOptions{Until: PlayedTo(seconds - 1)})
	encode(t, DASH, dir, seconds)
	checkViewing(t, s, v.Wait(ctx, t), seconds-1)
}

// The ffmpeg viewer of an fMP4 HLS stream and of a byte-range one.
func TestFFmpegPlaysEncoderDirectory(t *testing.T) {
	if testing.Short() || !Acceptance() {
		t.Skip("plays 8 s streams: make acceptance-live")
	}
	ffmpeg := testbin.Find(t, "EFSSYNC_FFMPEG", "ffmpeg")
	for _, format := range []string{HLSfMP4, HLSOneFile} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			s := Serve(t, dir)
			m3u8, done := encode(t, format, dir, 8)
			waitFile(t, dir, m3u8, done)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			for _, l := range PlayHLS(ctx, t, ffmpeg, s.URL+"/"+m3u8) {
				t.Errorf("player: %s", l)
			}
			for _, r := range Failures(s.Requests(), isMedia) {
				t.Errorf("viewer request failed: %+v", r)
			}
		})
	}
}

func checkViewing(t *testing.T, s *Server, ev []Event, until float64) {
	t.Helper()
	v := Judge(ev)
	if !v.Started || v.Played < until {
		t.Errorf("playback started %v, reached %.1f s of %.1f; events: %v", v.Started, v.Played, until, ev)
	}
	for _, e := range v.Errors {
		t.Errorf("player error: %s", e.Detail)
	}
	for _, e := range v.Stalls {
		t.Errorf("stall after playback started, at media time %s (page %.0f ms)", e.Detail, e.At)
	}
	for _, r := range Failures(s.Requests(), isMedia) {
		t.Errorf("viewer request failed: %+v", r)
	}
	t.Logf("played to %.1f s of media, %d requests", v.Played, len(s.Requests()))
}
