package report

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressShowsJobFilesPublishedBytesRateAndETA(t *testing.T) {
	var out bytes.Buffer
	p := &Progress{w: &out, start: time.Now().Add(-time.Second)}
	c := &Counters{}
	c.Files.Store(10)
	c.Copied.Store(4)
	c.Read.Store(8 << 20) // read but not yet published: not shown
	c.Bytes.Store(4 << 20)
	c.PlannedBytes.Store(8 << 20)
	p.Attach("home", c)
	// While the walk runs the total is a floor: counts, no ETA.
	p.draw()
	if got := out.String(); !strings.Contains(got, "10 files so far, walking") || strings.Contains(got, "ETA") || strings.Contains(got, "8.0 MiB") {
		t.Errorf("progress line while walking %q: want counts without a total or an ETA", got)
	}
	out.Reset()
	c.WalkDone.Store(true)
	p.draw()
	got := out.String()
	for _, want := range []string{"home: ", "10 files", "4 copied", "4.0 MiB/8.0 MiB published", "/s", "ETA 1s"} {
		if !strings.Contains(got, want) {
			t.Errorf("progress line %q lacks %q", got, want)
		}
	}
	if NewProgress(nil).w != nil {
		t.Error("a nil writer must draw nothing")
	}
}

// sinkRecorder is a ProgressSink that keeps what it was given.
type sinkRecorder struct {
	bytes.Buffer
	got []ProgressStats
	fin []bool
}

func (s *sinkRecorder) ProgressEvery() time.Duration { return time.Hour }
func (s *sinkRecorder) Progress(st ProgressStats, final bool) {
	s.got, s.fin = append(s.got, st), append(s.fin, final)
}

// A ProgressSink gets snapshots, a final one per job, and no drawn bytes.
func TestProgressFeedsSink(t *testing.T) {
	s := &sinkRecorder{}
	p := NewProgress(s)
	c := &Counters{}
	c.Files.Store(3)
	c.Bytes.Store(100)
	p.Attach("j", c)
	p.draw()
	p.Detach()
	p.Close()
	if len(s.got) != 2 || s.fin[0] || !s.fin[1] {
		t.Fatalf("sink got %d snapshots, final flags %v; want 2, [false true]", len(s.got), s.fin)
	}
	if g := s.got[1]; g.Job != "j" || g.Files != 3 || g.Bytes != 100 {
		t.Errorf("snapshot %+v", g)
	}
	if s.Len() != 0 {
		t.Errorf("sink was written to: %q", s.String())
	}
}

func TestIBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB",
		5 << 20: "5.0 MiB", 3 << 30: "3.0 GiB", 1 << 62: "4.0 EiB"} {
		if got := iBytes(n); got != want {
			t.Errorf("iBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
