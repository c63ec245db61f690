package report

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// ProgressStats is one snapshot of a running job: what a terminal line or a
// periodic log line shows, so a long migration is never silent.
type ProgressStats struct {
	// Job is the job being synced ("" until the agent names it).
	Job string
	// Files counts entries looked at; Copied, Unchanged and Failed split them.
	Files, Copied, Unchanged, Failed int64
	// Bytes counts bytes of files published at their destinations;
	// PlannedBytes what the plan has found to send so far.
	Bytes, PlannedBytes int64
	// Elapsed is the time since the run started; Rate is Bytes per second
	// over it.
	Elapsed time.Duration
	Rate    float64
	// ETA is the time left at Rate, or 0 when unknown: always while
	// Walking, since the total is not known before the walk ends.
	ETA time.Duration
	// Walking: the walk is still finding files; PlannedBytes is a floor.
	Walking bool
}

// ProgressSink receives a ProgressStats every ProgressEvery instead of a
// terminal line. When Options.Progress implements it (a log line under
// systemd, say), the agent hands it snapshots and never writes to it.
type ProgressSink interface {
	ProgressEvery() time.Duration
	Progress(s ProgressStats, final bool)
}

// Progress draws a one-line status (job, files, bytes published, rate, ETA)
// on a terminal, or feeds a ProgressSink. With a nil writer it does nothing,
// so logs and pipes stay clean.
type Progress struct {
	w     io.Writer
	sink  ProgressSink
	mu    sync.Mutex
	c     *Counters
	job   string
	start time.Time
	stop  chan struct{}
	done  chan struct{}
}

func NewProgress(w io.Writer) *Progress {
	p := &Progress{w: w}
	if w == nil {
		return p
	}
	every := 250 * time.Millisecond
	if s, ok := w.(ProgressSink); ok {
		p.sink = s
		if e := s.ProgressEvery(); e > 0 {
			every = e
		}
	}
	p.start = time.Now()
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go p.loop(every)
	return p
}

// Attach shows job's Counters from now on.
func (p *Progress) Attach(job string, c *Counters) {
	p.mu.Lock()
	p.c, p.job = c, job
	p.mu.Unlock()
}

func (p *Progress) Detach() {
	if p.w == nil {
		return
	}
	p.render(true)
	p.mu.Lock()
	p.c = nil
	p.mu.Unlock()
}

func (p *Progress) loop(every time.Duration) {
	defer close(p.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.draw()
		}
	}
}

// stats takes a snapshot of the attached counters, if any.
func (p *Progress) stats() (ProgressStats, bool) {
	p.mu.Lock()
	c, job := p.c, p.job
	p.mu.Unlock()
	if c == nil {
		return ProgressStats{}, false
	}
	s := ProgressStats{
		Job: job, Files: c.Files.Load(), Copied: c.Copied.Load(), Unchanged: c.Skipped.Load(),
		Failed: c.Failed.Load(), Bytes: c.Bytes.Load(), PlannedBytes: c.PlannedBytes.Load(),
		Elapsed: time.Since(p.start), Walking: !c.WalkDone.Load(),
	}
	if el := s.Elapsed.Seconds(); el > 0 {
		s.Rate = float64(s.Bytes) / el
	}
	if left := s.PlannedBytes - s.Bytes; s.Rate > 0 && left > 0 && !s.Walking {
		s.ETA = time.Duration(float64(left) / s.Rate * float64(time.Second)).Round(time.Second)
	}
	return s, true
}

// draw shows the current state of the attached job.
func (p *Progress) draw() { p.render(false) }

// render shows the current state; final marks a job's last state.
func (p *Progress) render(final bool) {
	s, ok := p.stats()
	if !ok {
		return
	}
	if p.sink != nil {
		p.sink.Progress(s, final)
		return
	}
	fmt.Fprint(p.w, "\r\033[K"+s.Line())
}

// Line renders s as one status line.
func (s ProgressStats) Line() string {
	eta := "--"
	if s.ETA > 0 {
		eta = s.ETA.String()
	}
	job := ""
	if s.Job != "" {
		job = s.Job + ": "
	}
	if s.Walking {
		// The total grows as the walk finds files: counts only, no ETA.
		return fmt.Sprintf("%s%d files so far, walking (%d copied, %d unchanged, %d failed)  %s published  %s/s",
			job, s.Files, s.Copied, s.Unchanged, s.Failed, iBytes(s.Bytes), iBytes(int64(s.Rate)))
	}
	return fmt.Sprintf("%s%d files (%d copied, %d unchanged, %d failed)  %s/%s published  %s/s  ETA %s",
		job, s.Files, s.Copied, s.Unchanged, s.Failed,
		iBytes(s.Bytes), iBytes(s.PlannedBytes), iBytes(int64(s.Rate)), eta)
}

// iBytes writes n in binary units with one decimal, as "1.5 MiB".
func iBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, unit := float64(n)/1024, 0
	for v >= 1024 && unit < 5 {
		v, unit = v/1024, unit+1
	}
	return fmt.Sprintf("%.1f %s", v, [...]string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}[unit])
}

func (p *Progress) Close() {
	if p.w == nil {
		return
	}
	close(p.stop)
	<-p.done
	if p.sink == nil {
		fmt.Fprintln(p.w)
	}
}
