package livefmt

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/efssync/efssync/agent/liveorder"
)

func TestRules(t *testing.T) {
	if _, err := New([]string{"hls", "smooth"}); err == nil {
		t.Fatal("unknown rule accepted")
	}
	none, _ := New(nil)
	h, _ := New([]string{"hls"})
	d, _ := New([]string{"dash"})
	both, _ := New([]string{"hls", "dash"})
	for _, c := range []struct {
		r    Rules
		rel  string
		want bool
	}{
		{none, "a.m3u8", false}, {h, "a.m3u8", true}, {h, "a.mpd", false},
		{d, "a.mpd", true}, {d, "a.MPD", true}, {d, "a.m3u8", false},
		{both, "x/a.mpd", true}, {both, "x/a.m3u8", true}, {both, "x/a.m4s", false},
	} {
		if got := c.r.IsManifest(c.rel); got != c.want {
			t.Errorf("%+v IsManifest(%q) = %v", c.r, c.rel, got)
		}
	}
	if none.EncoderTemp("a.mpd.tmp") || !d.EncoderTemp("a.mpd.tmp") || d.EncoderTemp("a.mpd") {
		t.Fatal("EncoderTemp")
	}
}

func TestNeedsDispatchesByFormat(t *testing.T) {
	both, _ := New([]string{"hls", "dash"})
	mpd, err := os.ReadFile("../dash/testdata/ffmpeg-live.mpd")
	if err != nil {
		t.Fatal(err)
	}
	refs, err := both.Needs("live/s.mpd", mpd, time.Now())
	if err != nil || len(refs) != 10 || refs[0] != (liveorder.Ref{Path: "live/init-stream0.m4s"}) {
		t.Fatalf("mpd: %v, %v", refs, err)
	}
	refs, err = both.Needs("live/s.m3u8", []byte("#EXTM3U\n#EXT-X-BYTERANGE:10@5\nall.mp4\n"), time.Now())
	if err != nil || !slices.Equal(refs, []liveorder.Ref{{Path: "live/all.mp4", End: 15}}) {
		t.Fatalf("m3u8: %v, %v", refs, err)
	}
	if _, err := both.Needs("live/s.mpd", []byte("#EXTM3U\n"), time.Now()); err == nil {
		t.Fatal("an HLS playlist named .mpd parsed as DASH")
	}
	h, _ := New([]string{"hls"})
	if _, err := h.Needs("live/s.mpd", mpd, time.Now()); err == nil {
		t.Fatal("an MPD parsed without the dash rule")
	}
}
