package agent

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressShowsJobFilesPublishedBytesRateAndETA(t *testing.T) {
	var out bytes.Buffer
	p := &progress{w: &out, start: time.Now().Add(-time.Second)}
	c := &counters{}
	c.files.Store(10)
	c.copied.Store(4)
	c.read.Store(8 << 20) // read but not yet published: not shown
	c.bytes.Store(4 << 20)
	c.plannedBytes.Store(8 << 20)
	p.attachJob("home", c)
	p.draw()
	got := out.String()
	for _, want := range []string{"home: ", "10 files", "4 copied", "4.0 MiB/8.0 MiB published", "/s", "ETA "} {
		if !strings.Contains(got, want) {
			t.Errorf("progress line %q lacks %q", got, want)
		}
	}
	if newProgress(nil).w != nil {
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
	p := newProgress(s)
	c := &counters{}
	c.files.Store(3)
	c.bytes.Store(100)
	p.attachJob("j", c)
	p.draw()
	p.detach()
	p.close()
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
