package agent

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress draws a one-line status (files, bytes, rate, ETA) on a terminal.
// With a nil writer it does nothing, so logs and pipes stay clean.
type progress struct {
	w     io.Writer
	mu    sync.Mutex
	c     *counters
	start time.Time
	stop  chan struct{}
	done  chan struct{}
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if w == nil {
		return p
	}
	p.start = time.Now()
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go p.loop()
	return p
}

func (p *progress) attach(c *counters) {
	p.mu.Lock()
	p.c = c
	p.mu.Unlock()
}

func (p *progress) detach() {
	if p.w == nil {
		return
	}
	p.draw()
	p.mu.Lock()
	p.c = nil
	p.mu.Unlock()
}

func (p *progress) loop() {
	defer close(p.done)
	t := time.NewTicker(250 * time.Millisecond)
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

func (p *progress) draw() {
	p.mu.Lock()
	c := p.c
	p.mu.Unlock()
	if c == nil {
		return
	}
	el := time.Since(p.start).Seconds()
	bytes := c.read.Load()
	rate := 0.0
	if el > 0 {
		rate = float64(bytes) / el
	}
	eta := "--"
	if left := c.plannedBytes.Load() - bytes; rate > 0 && left > 0 {
		eta = time.Duration(float64(left) / rate * float64(time.Second)).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r\033[K%d files (%d copied, %d unchanged, %d failed)  %s/%s  %s/s  ETA %s",
		c.files.Load(), c.copied.Load(), c.skipped.Load(), c.failed.Load(),
		iBytes(bytes), iBytes(c.plannedBytes.Load()), iBytes(int64(rate)), eta)
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

func (p *progress) close() {
	if p.w == nil {
		return
	}
	close(p.stop)
	<-p.done
	fmt.Fprintln(p.w)
}
