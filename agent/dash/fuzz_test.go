package dash

import (
	"os"
	"strings"
	"testing"
	"time"
)

// FuzzMPD checks that no input makes Parse or Refs panic or run away, and
// that every reference it returns is a clean path below the root.
func FuzzMPD(f *testing.F) {
	if data, err := os.ReadFile("testdata/ffmpeg-live.mpd"); err == nil {
		f.Add(data)
	}
	f.Add([]byte(`<MPD type="dynamic" availabilityStartTime="2026-01-01T00:00:00Z"><Period><AdaptationSet><SegmentTemplate media="$Number%05d$.m4s" duration="2"/><Representation id="a"/></AdaptationSet></Period></MPD>`))
	f.Add([]byte(`<MPD><BaseURL>a/</BaseURL><Period><AdaptationSet><Representation id="b"><SegmentList><Initialization sourceURL="i" range="0-9"/><SegmentURL media="../s" mediaRange="10-20"/></SegmentList></Representation></AdaptationSet></Period></MPD>`))
	f.Add([]byte(`<MPD><Period><AdaptationSet><SegmentTemplate media="$Time$"><SegmentTimeline><S t="5" d="1" r="-1"/><S t="9" d="2"/></SegmentTimeline></SegmentTemplate><Representation id="x"/></AdaptationSet></Period></MPD>`))
	now := time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		refs := m.Refs("live/m.mpd", now)
		if len(refs) > 4*maxSegments {
			t.Fatalf("%d refs", len(refs))
		}
		for _, r := range refs {
			if r.Path == "" || strings.HasPrefix(r.Path, "/") || strings.HasPrefix(r.Path, "../") || r.End < 0 {
				t.Fatalf("bad ref %+v", r)
			}
		}
	})
}
