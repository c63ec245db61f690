package dash

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/efssync/efssync/agent/liveorder"
)

func paths(refs []liveorder.Ref) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.Path
		if r.End > 0 {
			out[i] += "@" + strconv.FormatInt(r.End, 10)
		}
	}
	return out
}

func mustParse(t *testing.T, doc string) *MPD {
	t.Helper()
	m, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

// The manifest ffmpeg wrote for a live stream (-f dash -window_size 5
// -extra_window_size 2 -seg_duration 1 -use_template 1 -use_timeline 1),
// two Representations with templates at Representation level; the audio
// timeline omits @t after its first S.
func TestFFmpegLiveManifest(t *testing.T) {
	data, err := os.ReadFile("testdata/ffmpeg-live.mpd")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Dynamic || m.AvailabilityStart.IsZero() {
		t.Fatalf("dynamic=%v ast=%v", m.Dynamic, m.AvailabilityStart)
	}
	got := paths(m.Refs("live/stream.mpd", time.Time{}))
	var want []string
	for _, id := range []string{"0", "1"} {
		want = append(want, "live/init-stream"+id+".m4s")
		for n := 1; n <= 4; n++ {
			want = append(want, fmt.Sprintf("live/chunk-stream%s-%05d.m4s", id, n))
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("refs\n got %q\nwant %q", got, want)
	}
}

func TestTimelineRepeatsAndInheritance(t *testing.T) {
	doc := `<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic">
 <BaseURL>media/</BaseURL>
 <Period id="p0">
  <AdaptationSet>
   <BaseURL>v/</BaseURL>
   <SegmentTemplate timescale="1000" media="$RepresentationID$/t$Time$-b$Bandwidth$.m4s" initialization="$RepresentationID$/init.mp4" startNumber="7">
    <SegmentTimeline>
     <S t="1000" d="500" r="1"/>
     <S d="700"/>
     <S d="100" r="-1"/>
     <S t="3000" d="1000"/>
    </SegmentTimeline>
   </SegmentTemplate>
   <Representation id="hi" bandwidth="800"/>
   <Representation id="lo" bandwidth="200">
    <SegmentTemplate media="lo/$Number%03d$.m4s"/>
   </Representation>
  </AdaptationSet>
 </Period>
</MPD>`
	got := paths(mustParse(t, doc).Refs("x/live.mpd", time.Time{}))
	want := []string{
		"x/media/v/hi/init.mp4",
		"x/media/v/hi/t1000-b800.m4s", "x/media/v/hi/t1500-b800.m4s", // r=1
		"x/media/v/hi/t2000-b800.m4s", // omitted @t continues
		// r=-1 from 2700 repeats until the next S@t=3000
		"x/media/v/hi/t2700-b800.m4s", "x/media/v/hi/t2800-b800.m4s", "x/media/v/hi/t2900-b800.m4s",
		"x/media/v/hi/t3000-b800.m4s",
		"x/media/v/lo/init.mp4", // initialization inherited from the AdaptationSet
		"x/media/v/lo/007.m4s", "x/media/v/lo/008.m4s", "x/media/v/lo/009.m4s", "x/media/v/lo/010.m4s",
		"x/media/v/lo/011.m4s", "x/media/v/lo/012.m4s", "x/media/v/lo/013.m4s",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("refs\n got %q\nwant %q", got, want)
	}
}

func TestOpenEndedRepeatNamesItsFirstSegment(t *testing.T) {
	doc := `<MPD type="dynamic"><Period><AdaptationSet>
<SegmentTemplate media="s$Number$.m4s"><SegmentTimeline><S t="0" d="10" r="2"/><S d="10" r="-1"/></SegmentTimeline></SegmentTemplate>
<Representation id="a"/></AdaptationSet></Period></MPD>`
	got := paths(mustParse(t, doc).Refs("l.mpd", time.Time{}))
	if want := []string{"s1.m4s", "s2.m4s", "s3.m4s", "s4.m4s"}; !slices.Equal(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
	// With a Period end the repeat is bounded by it.
	doc = strings.Replace(doc, "<Period>", `<Period duration="PT6S">`, 1)
	doc = strings.Replace(doc, `<SegmentTemplate `, `<SegmentTemplate timescale="10" `, 1)
	got = paths(mustParse(t, doc).Refs("l.mpd", time.Time{}))
	if len(got) != 6 {
		t.Fatalf("bounded r=-1: got %q, want 6 segments", got)
	}
}

func TestSegmentListAndBaseURLs(t *testing.T) {
	doc := `<MPD type="static">
 <Period>
  <AdaptationSet>
   <SegmentList><Initialization sourceURL="init.mp4"/></SegmentList>
   <Representation id="a" bandwidth="1">
    <BaseURL>a/</BaseURL>
    <SegmentList>
     <SegmentURL media="1.m4s"/>
     <SegmentURL media="2.m4s?token=x"/>
     <SegmentURL media="http://cdn.example/3.m4s"/>
     <SegmentURL media="../../../escape.m4s"/>
    </SegmentList>
   </Representation>
   <Representation id="b" bandwidth="1">
    <BaseURL>b/all.mp4</BaseURL>
    <SegmentList>
     <Initialization range="0-99"/>
     <SegmentURL mediaRange="100-199"/>
     <SegmentURL mediaRange="200-399"/>
    </SegmentList>
   </Representation>
   <Representation id="c" bandwidth="1"><BaseURL>https://cdn.example/c/</BaseURL>
    <SegmentTemplate media="$Number$.m4s" duration="2" timescale="1"/></Representation>
  </AdaptationSet>
 </Period>
</MPD>`
	got := paths(mustParse(t, doc).Refs("show/m.mpd", time.Time{}))
	want := []string{"show/a/init.mp4", "show/a/1.m4s", "show/a/2.m4s", "show/b/all.mp4@400"}
	if !slices.Equal(got, want) {
		t.Fatalf("refs\n got %q\nwant %q", got, want)
	}
}

// A template without a timeline names segments by the clock alone. In a
// live manifest only the segment at the live edge is named; in a static
// one with a known Period length, every segment.
func TestClockDrivenTemplate(t *testing.T) {
	live := `<MPD type="dynamic" availabilityStartTime="2026-01-01T00:00:00Z"><Period start="PT10S"><AdaptationSet>
<SegmentTemplate media="$RepresentationID$_$Number%04d$.m4s" initialization="i.mp4" duration="2000" timescale="1000" startNumber="5"/>
<Representation id="v"/></AdaptationSet></Period></MPD>`
	m := mustParse(t, live)
	ast := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := paths(m.Refs("m.mpd", ast.Add(11*time.Second))); !slices.Equal(got, []string{"i.mp4"}) {
		t.Fatalf("before the first segment ends: %q", got)
	}
	// 10 s period start + 3 whole 2 s segments at 16.5 s: numbers 5,6,7.
	if got := paths(m.Refs("m.mpd", ast.Add(16500*time.Millisecond))); !slices.Equal(got, []string{"i.mp4", "v_0007.m4s"}) {
		t.Fatalf("live edge: %q", got)
	}
	static := `<MPD type="static" mediaPresentationDuration="PT5S"><Period><AdaptationSet>
<SegmentTemplate media="s$Number$.m4s" duration="2"/><Representation id="v"/></AdaptationSet></Period></MPD>`
	if got := paths(mustParse(t, static).Refs("m.mpd", time.Time{})); !slices.Equal(got, []string{"s1.m4s", "s2.m4s", "s3.m4s"}) {
		t.Fatalf("static: %q", got)
	}
}

func TestExpand(t *testing.T) {
	for _, c := range []struct{ tmpl, want string }{
		{"chunk-stream$RepresentationID$-$Number%05d$.m4s", "chunk-streamv1-00042.m4s"},
		{"$Time$_$Bandwidth%d$.m4s", "9000_128000.m4s"},
		{"a$$b$Number%01d$", "a$b42"},
	} {
		got, err := expand(c.tmpl, "v1", 42, 128000, 9000)
		if err != nil || got != c.want {
			t.Errorf("expand(%q) = %q, %v; want %q", c.tmpl, got, err, c.want)
		}
	}
	for _, bad := range []string{"$Number", "$Foo$", "$RepresentationID%02d$", "$Number%5x$"} {
		if _, err := expand(bad, "v", 1, 1, 1); !errors.Is(err, errTemplate) {
			t.Errorf("expand(%q) err = %v, want a template error", bad, err)
		}
	}
}

func TestBadInput(t *testing.T) {
	for name, doc := range map[string]string{
		"empty":          "",
		"not mpd":        `<?xml version="1.0"?><html></html>`,
		"m3u8":           "#EXTM3U\n",
		"bad template":   `<MPD><Period><AdaptationSet><Representation id="a"><SegmentTemplate media="$Nope$"/></Representation></AdaptationSet></Period></MPD>`,
		"bad duration":   `<MPD><Period start="5 seconds"/></MPD>`,
		"zero d":         `<MPD><Period><AdaptationSet><SegmentTemplate media="$Number$"><SegmentTimeline><S d="0"/></SegmentTimeline></SegmentTemplate><Representation id="a"/></AdaptationSet></Period></MPD>`,
		"huge r":         `<MPD><Period><AdaptationSet><SegmentTemplate media="$Number$"><SegmentTimeline><S d="1" r="99999999999"/></SegmentTimeline></SegmentTemplate><Representation id="a"/></AdaptationSet></Period></MPD>`,
		"bad range":      `<MPD><Period><AdaptationSet><Representation id="a"><SegmentList><SegmentURL media="x" mediaRange="9-1"/></SegmentList></Representation></AdaptationSet></Period></MPD>`,
		"truncated":      `<MPD><Period>`,
		"bad start time": `<MPD availabilityStartTime="yesterday"/>`,
	} {
		_, err := Parse([]byte(doc))
		if err == nil {
			t.Errorf("%s: parsed without error", name)
			continue
		}
		notMPD := errors.Is(err, ErrNotMPD)
		if want := name == "empty" || name == "not mpd" || name == "m3u8"; notMPD != want {
			t.Errorf("%s: err %v; ErrNotMPD=%v, want %v", name, err, notMPD, want)
		}
	}
}
