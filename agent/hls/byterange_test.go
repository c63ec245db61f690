package hls

import (
	"os"
	"slices"
	"testing"

	"github.com/efssync/efssync/agent/liveorder"
)

func needs(t *testing.T, file, rel string) []liveorder.Ref {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := ParsePlaylist(data)
	if err != nil {
		t.Fatal(err)
	}
	return pl.Needs(rel)
}

// ffmpeg -hls_segment_type fmp4: an #EXT-X-MAP init section before the
// media segments, each a whole file.
func TestNeedsFMP4(t *testing.T) {
	got := needs(t, "testdata/ffmpeg-fmp4.m3u8", "live/index.m3u8")
	want := []liveorder.Ref{{Path: "live/init.mp4"}, {Path: "live/live0.m4s"}, {Path: "live/live1.m4s"},
		{Path: "live/live2.m4s"}, {Path: "live/live3.m4s"}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

// ffmpeg -hls_flags single_file: one growing file holds the init section
// and every segment; the playlist needs it only up to its last range.
func TestNeedsSingleFileByteRanges(t *testing.T) {
	got := needs(t, "testdata/ffmpeg-single-file.m3u8", "live/index.m3u8")
	want := []liveorder.Ref{{Path: "live/live.m4s", End: 23481 + 7633}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestByteRangeContinuationAndWholeWins(t *testing.T) {
	pl, err := ParsePlaylist([]byte("#EXTM3U\n#EXT-X-MAP:URI=\"a.mp4\",BYTERANGE=\"100\"\n" +
		"#EXTINF:1,\n#EXT-X-BYTERANGE:50@100\na.mp4\n" +
		"#EXTINF:1,\n#EXT-X-BYTERANGE:70\na.mp4\n" + // continues at 150
		"#EXTINF:1,\n#EXT-X-BYTERANGE:10@0\nb.mp4\n" +
		"#EXTINF:1,\nb.mp4\n")) // b named whole as well: whole wins
	if err != nil {
		t.Fatal(err)
	}
	got := pl.Needs("x.m3u8")
	want := []liveorder.Ref{{Path: "a.mp4", End: 220}, {Path: "b.mp4"}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"#EXT-X-BYTERANGE:x@1", "#EXT-X-BYTERANGE:-1", "#EXT-X-MAP:URI=\"i\",BYTERANGE=\"1@z\""} {
		if _, err := ParsePlaylist([]byte("#EXTM3U\n" + bad + "\ns.ts\n")); err == nil {
			t.Errorf("%q parsed without error", bad)
		}
	}
}
