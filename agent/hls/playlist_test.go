package hls

import (
	"errors"
	"slices"
	"testing"
)

// ffmpeg -f hls -hls_segment_type fmp4 -hls_time 2 -hls_list_size 4 live/stream.m3u8
const ffmpegFMP4 = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:15
#EXT-X-MAP:URI="init.mp4"
#EXTINF:2.000000,
stream15.m4s
#EXTINF:2.000000,
stream16.m4s
#EXTINF:2.000000,
stream17.m4s
#EXTINF:1.960000,
stream18.m4s
`

// ffmpeg -f hls -hls_time 4 -hls_playlist_type vod out/index.m3u8 (TS)
const ffmpegTS = "#EXTM3U\r\n#EXT-X-VERSION:3\r\n#EXT-X-TARGETDURATION:4\r\n#EXT-X-MEDIA-SEQUENCE:0\r\n#EXT-X-PLAYLIST-TYPE:VOD\r\n" +
	"#EXTINF:4.000000,\r\nindex0.ts\r\n#EXTINF:4.000000,\r\nindex1.ts\r\n#EXTINF:0.800000,\r\nindex2.ts\r\n#EXT-X-ENDLIST\r\n"

const master = `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",DEFAULT=YES,URI="audio/en.m3u8"
#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="CC1",INSTREAM-ID="CC1"
#EXT-X-STREAM-INF:BANDWIDTH=2000000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,AUDIO="aud"
720p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS="avc1.4d401e,mp4a.40.2",RESOLUTION=640x360,AUDIO="aud"
360p/index.m3u8?token=abc
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=100000,URI="720p/iframes.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=500000
https://cdn.example.com/other.m3u8
`

const llhls = `#EXTM3U
#EXT-X-TARGETDURATION:4
#EXT-X-VERSION:9
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0
#EXT-X-PART-INF:PART-TARGET=0.333
#EXT-X-MEDIA-SEQUENCE:266
#EXT-X-MAP:URI="init.mp4"
#EXT-X-KEY:METHOD=AES-128,URI="keys/k1.key",IV=0x1
#EXTINF:4.0,
fileSequence266.m4s
#EXT-X-PART:DURATION=0.333,URI="filePart267.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.333,URI="filePart267.1.m4s"
#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://key-id",KEYFORMAT="com.apple.streamingkeydelivery"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="filePart267.2.m4s"
#EXT-X-RENDITION-REPORT:URI="../1M/waitForMSN.php",LAST-MSN=273,LAST-PART=2
`

func TestParseFFmpegFMP4(t *testing.T) {
	p, err := ParsePlaylist([]byte(ffmpegFMP4))
	if err != nil {
		t.Fatal(err)
	}
	if p.Master || p.EndList || p.MediaSequence != 15 || p.Version != 7 || p.TargetDuration != 2 {
		t.Errorf("header: %+v", p)
	}
	want := []string{"live/init.mp4", "live/stream15.m4s", "live/stream16.m4s", "live/stream17.m4s", "live/stream18.m4s"}
	if got := p.Refs("live/stream.m3u8"); !slices.Equal(got, want) {
		t.Errorf("Refs = %q, want %q", got, want)
	}
}

func TestParseFFmpegTS(t *testing.T) {
	p, err := ParsePlaylist([]byte(ffmpegTS))
	if err != nil {
		t.Fatal(err)
	}
	if !p.EndList || p.MediaSequence != 0 || p.PlaylistType != "VOD" {
		t.Errorf("header: %+v", p)
	}
	want := []string{"index0.ts", "index1.ts", "index2.ts"}
	if got := p.Refs("index.m3u8"); !slices.Equal(got, want) {
		t.Errorf("Refs = %q, want %q", got, want)
	}
}

func TestParseMaster(t *testing.T) {
	p, err := ParsePlaylist([]byte(master))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Master {
		t.Error("not detected as master")
	}
	want := []string{"hls/audio/en.m3u8", "hls/720p/index.m3u8", "hls/360p/index.m3u8", "hls/720p/iframes.m3u8"}
	if got := p.Refs("hls/master.m3u8"); !slices.Equal(got, want) {
		t.Errorf("Refs = %q, want %q", got, want)
	}
}

func TestParseLLHLS(t *testing.T) {
	p, err := ParsePlaylist([]byte(llhls))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"s/init.mp4", "s/keys/k1.key", "s/fileSequence266.m4s", "s/filePart267.0.m4s", "s/filePart267.1.m4s"}
	if got := p.Refs("s/p.m3u8"); !slices.Equal(got, want) {
		t.Errorf("Refs = %q, want %q (preload hints, rendition reports and skd: keys excluded)", got, want)
	}
}

func TestRefsResolution(t *testing.T) {
	data := "#EXTM3U\n" +
		"../shared/seg1.ts\n" + // stays inside the root
		"../../escape.ts\n" + // escapes: dropped
		"/abs/seg.ts\n" + // server-absolute: dropped
		"//cdn/seg.ts\n" + // network path: dropped
		"http://x/seg.ts\n" + "HTTPS://x/seg.ts\n" + "data:video/mp2t;base64,AAAA\n" +
		"./a/b/../c.ts?x=1#frag\n" +
		"seg%20two.ts\n" +
		"seg1.ts\nseg1.ts\n" + // duplicate
		"\n   \n"
	p, err := ParsePlaylist([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"shared/seg1.ts", "live/a/c.ts", "live/seg two.ts", "live/seg1.ts"}
	if got := p.Refs("live/x.m3u8"); !slices.Equal(got, want) {
		t.Errorf("Refs = %q, want %q", got, want)
	}
	// At the root, ".." always escapes.
	if got := p.Refs("x.m3u8"); slices.Contains(got, "shared/seg1.ts") || slices.ContainsFunc(got, func(s string) bool { return len(s) >= 2 && s[:2] == ".." }) {
		t.Errorf("root Refs escaped: %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":     "",
		"no header": "seg1.ts\n",
		"html":      "<html></html>",
	} {
		if _, err := ParsePlaylist([]byte(in)); !errors.Is(err, ErrNotPlaylist) {
			t.Errorf("%s: err = %v, want ErrNotPlaylist", name, err)
		}
	}
	if _, err := ParsePlaylist([]byte("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:abc\n")); err == nil || errors.Is(err, ErrNotPlaylist) {
		t.Errorf("bad media sequence: err = %v", err)
	}
	if p, err := ParsePlaylist([]byte("\xef\xbb\xbf#EXTM3U\nseg.ts\n")); err != nil || len(p.URIs()) != 1 {
		t.Errorf("BOM: %v %v", p, err)
	}
}

func TestAttr(t *testing.T) {
	list := `TYPE=AUDIO,NAME="a, b=c",URI="x.m3u8",DEFAULT=YES`
	for k, want := range map[string]string{"TYPE": "AUDIO", "NAME": "a, b=c", "URI": "x.m3u8", "DEFAULT": "YES"} {
		if got, ok := attr(list, k); !ok || got != want {
			t.Errorf("attr(%s) = %q %v, want %q", k, got, ok, want)
		}
	}
	if _, ok := attr(list, "MISSING"); ok {
		t.Error("found a missing attribute")
	}
	// An unquoted value that merely contains "URI=" must not be mistaken for the key.
	if got, ok := attr(`NAME="URI=bad",URI="good"`, "URI"); !ok || got != "good" {
		t.Errorf("attr URI = %q", got)
	}
}

func TestClassify(t *testing.T) {
	for rel, want := range map[string]bool{"a/b.m3u8": true, "X.M3U": true, "a.ts": false, "m3u8": false} {
		if IsPlaylist(rel) != want {
			t.Errorf("IsPlaylist(%q) != %v", rel, want)
		}
	}
	for rel, want := range map[string]bool{"a.ts": true, "init.mp4": true, "s1.M4S": true, "sub.vtt": true, "a.aac": true, "a.m4a": true, "a.m4v": true, "a.m3u8": false, "a.txt": false} {
		if IsSegment(rel) != want {
			t.Errorf("IsSegment(%q) != %v", rel, want)
		}
	}
}

func FuzzParsePlaylist(f *testing.F) {
	for _, s := range []string{ffmpegFMP4, ffmpegTS, master, llhls, "", "#EXTM3U", "#EXTM3U\n../../x\n", "#EXTM3U\n#EXT-X-MAP:URI=\"\n"} {
		f.Add([]byte(s), "live/x.m3u8")
	}
	f.Fuzz(func(t *testing.T, data []byte, rel string) {
		p, err := ParsePlaylist(data)
		if err != nil {
			return
		}
		for _, r := range p.Refs(rel) {
			if r == "" || r == "." || r == ".." || r[0] == '/' || len(r) >= 3 && r[:3] == "../" {
				t.Fatalf("Refs(%q) produced %q", rel, r)
			}
		}
	})
}
