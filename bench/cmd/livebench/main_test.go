package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/efssync/efssync/agent/livefmt"
)

func TestPercentileNearestRank(t *testing.T) {
	v := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct{ q, want float64 }{{50, 5}, {99, 10}, {10, 1}, {0, 1}, {100, 10}} {
		if got := percentile(v, c.q); got != c.want {
			t.Errorf("p%v = %v, want %v", c.q, got, c.want)
		}
	}
}

func TestNamesKeepsURIsOnly(t *testing.T) {
	rules, _ := livefmt.New([]string{"hls"})
	p := newPoller(t.TempDir(), "live.m3u8", rules, nil)
	got := p.names([]byte("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nseg1.ts\n\n#EXTINF:1.0,\r\nseg2.ts\r\n#EXT-X-ENDLIST\n"))
	if len(got) != 2 || got[0] != "seg1.ts" || got[1] != "seg2.ts" {
		t.Fatalf("names = %q", got)
	}
	rules, _ = livefmt.New([]string{"dash"})
	p = newPoller(t.TempDir(), "live.mpd", rules, nil)
	got = p.names([]byte(`<MPD type="dynamic"><Period><AdaptationSet><Representation id="0"><SegmentTemplate media="c$RepresentationID$-$Number%05d$.m4s" initialization="i$RepresentationID$.m4s" startNumber="3"><SegmentTimeline><S t="0" d="10" r="1"/></SegmentTimeline></SegmentTemplate></Representation></AdaptationSet></Period></MPD>`))
	if len(got) != 3 || got[0] != "i0.m4s" || got[2] != "c0-00004.m4s" {
		t.Fatalf("names = %q", got)
	}
}

func TestBigContentBlocksMatchChunks(t *testing.T) {
	c := newBigContent(3 * chunkSize)
	buf := make([]byte, chunkSize)
	c.chunk(2, buf)
	for _, off := range []int64{0, blockSize, chunkSize - blockSize} {
		want := c.block(2*chunkSize + off)
		if string(buf[off:off+blockSize]) != string(want) {
			t.Fatalf("block at %d of chunk 2 differs from block()", off)
		}
	}
	offs := c.sampleOffsets(64)
	if len(offs) != 64 || offs[1] != 3*chunkSize-blockSize {
		t.Fatalf("sample offsets: %d, last %d", len(offs), offs[1])
	}
}

// TestPollerCountsPlaylistAheadOfSegment plays one encoder step by hand: a
// replica that publishes the playlist before the segment is a violation,
// one that publishes the segment first is not, and lags are recorded.
func TestPollerCountsPlaylistAheadOfSegment(t *testing.T) {
	src, good, bad := t.TempDir(), t.TempDir(), t.TempDir()
	write := func(dir, name, s string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pl := "#EXTM3U\n#EXTINF:1.0,\nseg1.ts\n"
	write(src, "seg1.ts", "segment one")
	write(src, "live.m3u8", pl)
	rules, _ := livefmt.New([]string{"hls"})
	p := newPoller(src, "live.m3u8", rules, []*dest{{tool: "a", kind: "plain", read: good}, {tool: "b", kind: "plain", read: bad}})
	p.poll()
	write(good, "seg1.ts", "segment one")
	write(good, "live.m3u8", pl)
	write(bad, "seg1.ts", "segm") // incomplete
	write(bad, "live.m3u8", pl)
	p.poll()
	rs := liveResults(p)
	if rs[0].Violations != 0 || rs[0].Segments != 1 {
		t.Errorf("good replica: %+v", rs[0])
	}
	if rs[1].Violations != 1 || rs[1].Segments != 1 {
		t.Errorf("bad replica: %+v", rs[1])
	}
	if lag := p.dests[0].firstSeen["seg1.ts"].Sub(p.srcSeen["seg1.ts"]); lag < 0 || lag > time.Minute {
		t.Errorf("lag %v", lag)
	}
}
