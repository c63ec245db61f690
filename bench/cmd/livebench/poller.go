package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/zeebo/blake3"

	"github.com/efssync/efssync/agent/livefmt"
)

// dest is one replica under test: where its tool writes (through FUSE for
// the simulated mount) and where the poller reads it. The poller reads the
// FUSE mount's backing directory, i.e. what the file server holds, so that
// the checker neither pays the injected latency nor sees the kernel's
// attribute cache of this one client.
type dest struct {
	tool  string // efssync, lsyncd-rsync, lsyncd-direct
	kind  string // plain or fuse
	write string
	read  string
}

func (d *dest) name() string { return d.tool + "/" + d.kind }

// segInfo is what a segment held at the source when the source playlist
// first listed it: ffmpeg closes a segment before it lists it, so this is
// the finished content every replica must hold before listing it too.
type segInfo struct {
	size int64
	sum  [32]byte
	ok   bool // false if the source segment could not be read in time
}

// destState is what the poller knows about one replica.
type destState struct {
	d         *dest
	last      []byte               // playlist bytes of the previous poll
	firstSeen map[string]time.Time // segment -> first poll listing it
	verified  map[string]bool      // segment content already matched the source
	badSegs   map[string]bool      // segments observed listed but broken
	badPolls  int                  // polls that confirmed a violation
	details   []string
}

// poller samples the source playlist and every replica playlist and keeps
// the first time each segment was listed at each place, and every moment a
// replica listed a segment it did not hold whole.
type poller struct {
	src      string
	playlist string
	rules    livefmt.Rules
	srcSeen  map[string]time.Time
	srcInfo  map[string]segInfo
	dests    []*destState
	polls    int
	maxPoll  time.Duration
}

func newPoller(src, playlist string, rules livefmt.Rules, dests []*dest) *poller {
	p := &poller{src: src, playlist: playlist, rules: rules, srcSeen: map[string]time.Time{}, srcInfo: map[string]segInfo{}}
	for _, d := range dests {
		p.dests = append(p.dests, &destState{d: d, firstSeen: map[string]time.Time{}, verified: map[string]bool{}, badSegs: map[string]bool{}})
	}
	return p
}

// names returns the files a manifest (HLS playlist or DASH MPD) names,
// in order, with the parser efssync uses: segments and init segments.
// A manifest that does not parse names nothing.
func (p *poller) names(data []byte) []string {
	refs, err := p.rules.Needs(p.playlist, data, time.Now())
	if err != nil {
		return nil
	}
	segs := make([]string, len(refs))
	for i, r := range refs {
		segs[i] = r.Path
	}
	return segs
}

// run polls every interval until stop is closed.
func (p *poller) run(stop <-chan struct{}, every time.Duration) {
	next := time.Now()
	for {
		select {
		case <-stop:
			return
		default:
		}
		start := time.Now()
		p.poll()
		if el := time.Since(start); el > p.maxPoll {
			p.maxPoll = el
		}
		next = next.Add(every)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		} else {
			next = time.Now()
		}
	}
}

func (p *poller) poll() {
	p.polls++
	p.pollSource()
	for _, ds := range p.dests {
		p.pollDest(ds)
	}
}

func (p *poller) pollSource() {
	data, err := os.ReadFile(filepath.Join(p.src, p.playlist))
	if err != nil {
		return
	}
	now := time.Now()
	for _, s := range p.names(data) {
		if _, ok := p.srcSeen[s]; ok {
			continue
		}
		p.srcSeen[s] = now
		info := segInfo{}
		if b, err := os.ReadFile(filepath.Join(p.src, s)); err == nil {
			info = segInfo{size: int64(len(b)), sum: blake3.Sum256(b), ok: true}
		}
		p.srcInfo[s] = info
	}
}

func (p *poller) pollDest(ds *destState) {
	plPath := filepath.Join(ds.d.read, p.playlist)
	data, err := os.ReadFile(plPath)
	if err != nil {
		return
	}
	now := time.Now()
	segs := p.names(data)
	changed := !bytes.Equal(data, ds.last)
	ds.last = data
	for _, s := range segs {
		if changed {
			if _, ok := ds.firstSeen[s]; !ok {
				ds.firstSeen[s] = now
			}
		}
		if _, ok := p.srcInfo[s]; !ok {
			// The replica lists a segment this poll's source read did not
			// yet: sample the source again so its content is known.
			p.pollSource()
		}
		problem := p.checkSegment(ds, s)
		if problem == "" {
			continue
		}
		// Count it only if the playlist that listed the segment is still
		// the one published: a newer version may have dropped it since.
		again, err := os.ReadFile(plPath)
		if err != nil || !bytes.Equal(again, data) {
			continue
		}
		ds.badPolls++
		if !ds.badSegs[s] {
			ds.badSegs[s] = true
			if len(ds.details) < 10 {
				ds.details = append(ds.details, fmt.Sprintf("%s: %s lists %s: %s", now.Format("15:04:05.000"), p.playlist, s, problem))
			}
		}
	}
}

// checkSegment returns "" if the replica holds segment s whole, or what is
// wrong. A segment verified once is then only checked by size.
func (p *poller) checkSegment(ds *destState, s string) string {
	info := p.srcInfo[s]
	path := filepath.Join(ds.d.read, s)
	if ds.verified[s] {
		st, err := os.Stat(path)
		if err != nil {
			return "missing (after it was complete)"
		}
		if info.ok && st.Size() != info.size {
			return fmt.Sprintf("size %d, want %d (after it was complete)", st.Size(), info.size)
		}
		return ""
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "missing"
	}
	if !info.ok {
		return "" // cannot compare; existence is all we know
	}
	if int64(len(b)) != info.size {
		return fmt.Sprintf("incomplete: %d of %d bytes", len(b), info.size)
	}
	if blake3.Sum256(b) != info.sum {
		return "content differs from the source"
	}
	ds.verified[s] = true
	return ""
}
