package dash

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/efssync/efssync/agent/liveorder"
)

// rep is one Representation, reduced to the files it names.
type rep struct {
	id        string
	bandwidth uint64
	init      *liveorder.Ref // manifest-relative URI in Path
	segs      []liveorder.Ref
	// edge, when set, makes the segment list follow the clock: a
	// SegmentTemplate with @duration and no timeline in a live manifest.
	edge *edge
}

// edge is what locates the live-edge segment of a clock-driven template.
type edge struct {
	media       string
	base        string
	start       time.Time // availability start plus the Period's start
	seg         time.Duration
	startNumber uint64
}

// Refs returns every file this version of the manifest names, resolved
// against manifestRel (the manifest's root-relative slash path): each
// Representation's initialization segment and the media segments its
// SegmentTimeline or SegmentList names. For a clock-driven template (no
// timeline) in a live manifest only the segment at the live edge at now is
// named: a player computes the same edge from the clock, and from there on
// segments arrive at the replica as fast as at the source.
func (m *MPD) Refs(manifestRel string, now time.Time) []liveorder.Ref {
	var raw []liveorder.Ref
	for _, r := range m.reps {
		if r.init != nil {
			raw = append(raw, *r.init)
		}
		raw = append(raw, r.segs...)
		if r.edge != nil {
			if u, ok := r.edge.at(r, now); ok {
				raw = append(raw, liveorder.Ref{Path: u})
			}
		}
	}
	return liveorder.Collect(manifestRel, raw)
}

// at returns the URI of the newest segment wholly available at now.
func (e *edge) at(r rep, now time.Time) (string, bool) {
	if e.seg <= 0 || now.Before(e.start.Add(e.seg)) {
		return "", false
	}
	n := e.startNumber + uint64(now.Sub(e.start)/e.seg) - 1
	u, err := expand(e.media, r.id, n, r.bandwidth, 0)
	if err != nil {
		return "", false // checked when parsed
	}
	return join(e.base, u), true
}

// collect walks the Periods and fills m.reps. total is the presentation's
// duration (0 when unknown), which ends the last Period.
func (m *MPD) collect(x *mpdXML, total time.Duration) error {
	root := first(x.BaseURL)
	var prevEnd time.Duration
	nsegs := 0
	for pi := range x.Periods {
		p := &x.Periods[pi]
		start, err := optDuration("Period@start", p.Start)
		if err != nil {
			return err
		}
		if p.Start == "" {
			start = prevEnd
		}
		dur, err := optDuration("Period@duration", p.Duration)
		if err != nil {
			return err
		}
		if dur == 0 && pi+1 < len(x.Periods) && x.Periods[pi+1].Start != "" {
			next, err := optDuration("Period@start", x.Periods[pi+1].Start)
			if err != nil {
				return err
			}
			if next > start {
				dur = next - start
			}
		}
		if dur == 0 && pi+1 == len(x.Periods) && total > start {
			dur = total - start
		}
		prevEnd = start + dur
		pbase := join(root, first(p.BaseURL))
		for ai := range p.Sets {
			as := &p.Sets[ai]
			abase := join(pbase, first(as.BaseURL))
			for ri := range as.Reps {
				rx := &as.Reps[ri]
				r := rep{id: rx.ID, bandwidth: rx.Bandwidth}
				base := join(abase, first(rx.BaseURL))
				lv := levels{
					tmpl: merge(p.Template, as.Template, rx.Template),
					list: inner(p.List, as.List, rx.List),
					base: innerBase(p.Base, as.Base, rx.Base),
				}
				per := period{start: start, dur: dur, ast: m.AvailabilityStart, dynamic: m.Dynamic}
				if err := r.fill(base, lv, per); err != nil {
					return fmt.Errorf("dash: Period %d AdaptationSet %d Representation %q: %w", pi, ai, rx.ID, err)
				}
				nsegs += len(r.segs)
				if nsegs > maxSegments {
					return fmt.Errorf("dash: manifest names more than %d segments", maxSegments)
				}
				m.reps = append(m.reps, r)
			}
		}
	}
	return nil
}

// levels is the segment addressing in effect for one Representation.
type levels struct {
	tmpl *templateXML
	list *listXML
	base *baseXML
}

// period is the timing of the Period a Representation is in.
type period struct {
	start, dur time.Duration // dur 0: open-ended
	ast        time.Time
	dynamic    bool
}

// fill sets r's files from the addressing in effect, base being the
// Representation's joined BaseURL.
func (r *rep) fill(base string, lv levels, per period) error {
	switch {
	case lv.tmpl != nil && (lv.tmpl.Media != nil || lv.tmpl.Initialization != nil):
		return r.fromTemplate(base, lv.tmpl, per)
	case lv.list != nil:
		return r.fromList(base, lv.list)
	case lv.base != nil:
		if err := r.setInit(base, lv.base.Init); err != nil {
			return err
		}
		fallthrough
	default:
		if base != "" {
			r.segs = append(r.segs, liveorder.Ref{Path: base})
		}
	}
	return nil
}

func (r *rep) setInit(base string, u *urlXML) error {
	if u == nil {
		return nil
	}
	src := base
	if u.SourceURL != nil {
		src = join(base, *u.SourceURL)
	}
	end, err := rangeEnd("Initialization@range", u.Range)
	if err != nil {
		return err
	}
	if src != "" {
		r.init = &liveorder.Ref{Path: src, End: end}
	}
	return nil
}

func (r *rep) fromList(base string, l *listXML) error {
	if err := r.setInit(base, l.Init); err != nil {
		return err
	}
	for _, s := range l.URLs {
		src := base
		if s.Media != nil {
			src = join(base, *s.Media)
		}
		end, err := rangeEnd("SegmentURL@mediaRange", s.MediaRange)
		if err != nil {
			return err
		}
		if src != "" {
			r.segs = append(r.segs, liveorder.Ref{Path: src, End: end})
		}
	}
	return nil
}

// rangeEnd turns an HTTP byte range "first-last" into the end it needs
// present (last+1); "" is the whole file (0).
func rangeEnd(what, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	a, b, ok := strings.Cut(s, "-")
	first, err1 := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	last, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 64)
	if !ok || err1 != nil || err2 != nil || first < 0 || last < first || last == 1<<63-1 {
		return 0, fmt.Errorf("bad %s %q: want first-last byte offsets", what, s)
	}
	return last + 1, nil
}

// join resolves ref against base the way a player does for relative
// references; an absolute ref (URL or "/path") replaces base.
func join(base, ref string) string {
	ref = strings.TrimSpace(ref)
	switch {
	case ref == "":
		return base
	case base == "" || liveorder.IsAbsolute(ref):
		return ref
	}
	if i := strings.LastIndexByte(base, '/'); i >= 0 {
		return base[:i+1] + ref
	}
	return ref
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return strings.TrimSpace(s[0])
}
