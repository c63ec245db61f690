package dash

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/efssync/efssync/agent/liveorder"
)

// merge combines SegmentTemplates from outer to inner level: an attribute
// or timeline set at an inner level overrides the outer one, as the MPD
// schema inherits them. nil when no level has a template.
func merge(levels ...*templateXML) *templateXML {
	var out *templateXML
	for _, t := range levels {
		if t == nil {
			continue
		}
		if out == nil {
			out = &templateXML{}
		}
		if t.Media != nil {
			out.Media = t.Media
		}
		if t.Initialization != nil {
			out.Initialization = t.Initialization
		}
		if t.StartNumber != nil {
			out.StartNumber = t.StartNumber
		}
		if t.Timescale != nil {
			out.Timescale = t.Timescale
		}
		if t.Duration != nil {
			out.Duration = t.Duration
		}
		if t.PTO != nil {
			out.PTO = t.PTO
		}
		if t.Timeline != nil {
			out.Timeline = t.Timeline
		}
	}
	return out
}

// inner returns the innermost SegmentList that names segments, carrying
// the innermost Initialization down to it.
func inner(levels ...*listXML) *listXML {
	var out *listXML
	var init *urlXML
	for _, l := range levels {
		if l == nil {
			continue
		}
		if l.Init != nil {
			init = l.Init
		}
		if len(l.URLs) > 0 || out == nil {
			out = &listXML{URLs: l.URLs}
		}
	}
	if out != nil {
		out.Init = init
	}
	return out
}

func innerBase(levels ...*baseXML) *baseXML {
	var out *baseXML
	for _, b := range levels {
		if b != nil {
			out = b
		}
	}
	return out
}

// fromTemplate expands a SegmentTemplate for r: the initialization
// segment, then the timeline's segments; without a timeline, every segment
// of a Period of known length in a static manifest, or the live edge.
func (r *rep) fromTemplate(base string, t *templateXML, per period) error {
	if t.Initialization != nil {
		u, err := expand(*t.Initialization, r.id, 0, r.bandwidth, 0)
		if err != nil {
			return fmt.Errorf("SegmentTemplate@initialization: %w", err)
		}
		r.init = &liveorder.Ref{Path: join(base, u)}
	}
	if t.Media == nil {
		return nil
	}
	media := *t.Media
	// Validate the template once, so a bad one fails the parse rather than
	// silently naming nothing.
	if _, err := expand(media, r.id, 1, r.bandwidth, 0); err != nil {
		return fmt.Errorf("SegmentTemplate@media: %w", err)
	}
	number := uint64(1)
	if t.StartNumber != nil {
		number = *t.StartNumber
	}
	scale := uint64(1)
	if t.Timescale != nil && *t.Timescale > 0 {
		scale = *t.Timescale
	}
	var pto uint64
	if t.PTO != nil {
		pto = *t.PTO
	}
	emit := func(n, tm uint64) error {
		if len(r.segs) >= maxSegments {
			return fmt.Errorf("more than %d segments", maxSegments)
		}
		u, err := expand(media, r.id, n, r.bandwidth, tm)
		if err != nil {
			return err
		}
		r.segs = append(r.segs, liveorder.Ref{Path: join(base, u)})
		return nil
	}
	if t.Timeline != nil {
		return timeline(t.Timeline.S, number, endTicks(per.dur, scale, pto), emit)
	}
	if t.Duration == nil || *t.Duration == 0 {
		return nil // nothing but the initialization segment is named
	}
	seg := ticksDuration(*t.Duration, scale)
	switch {
	case per.dynamic && !per.ast.IsZero():
		r.edge = &edge{media: media, base: base, start: per.ast.Add(per.start), seg: seg, startNumber: number}
	case !per.dynamic && per.dur > 0 && seg > 0:
		n := (per.dur + seg - 1) / seg
		if n > maxSegments {
			return fmt.Errorf("more than %d segments", maxSegments)
		}
		for k := range uint64(n) {
			if err := emit(number+k, pto+k**t.Duration); err != nil {
				return err
			}
		}
	}
	return nil
}

// endTicks is the Period's end in timescale units, 0 when open-ended.
func endTicks(dur time.Duration, scale, pto uint64) uint64 {
	if dur <= 0 {
		return 0
	}
	return pto + uint64(dur.Seconds()*float64(scale))
}

func ticksDuration(d, scale uint64) time.Duration {
	s := float64(d) / float64(scale)
	if s*float64(time.Second) >= math.MaxInt64 {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}

// timeline expands SegmentTimeline S elements: @t absent continues from
// the previous segment's end (0 for the first, as the schema says), @r
// repeats, and @r=-1 repeats up to the next S's @t or the Period's end
// (end, in ticks). $Time$ is S@t itself, which already includes
// @presentationTimeOffset. An @r=-1 with neither is open-ended: its extent
// follows the clock, and only its first segment is named.
func timeline(ss []sXML, number, end uint64, emit func(n, t uint64) error) error {
	var t uint64
	for i, s := range ss {
		if s.T != nil {
			t = *s.T
		}
		if s.D == 0 {
			return fmt.Errorf("SegmentTimeline S[%d]: @d must be positive", i)
		}
		if s.R < -1 {
			return fmt.Errorf("SegmentTimeline S[%d]: @r %d is below -1", i, s.R)
		}
		count := uint64(s.R) + 1
		if s.R == -1 {
			until := end
			if i+1 < len(ss) && ss[i+1].T != nil {
				until = *ss[i+1].T
			}
			count = 1
			if until > t {
				count = (until - t + s.D - 1) / s.D
			}
		}
		if count > maxSegments {
			return fmt.Errorf("SegmentTimeline S[%d]: more than %d segments", i, maxSegments)
		}
		for range count {
			if err := emit(number, t); err != nil {
				return err
			}
			number++
			t += s.D
		}
	}
	return nil
}

var errTemplate = errors.New("bad template")

// expand substitutes $RepresentationID$, $Number$, $Time$, $Bandwidth$
// (the numeric ones with an optional %0Nd width) and $$ in a template.
func expand(tmpl, id string, number, bandwidth, tm uint64) (string, error) {
	var b strings.Builder
	for {
		i := strings.IndexByte(tmpl, '$')
		if i < 0 {
			b.WriteString(tmpl)
			return b.String(), nil
		}
		b.WriteString(tmpl[:i])
		rest := tmpl[i+1:]
		j := strings.IndexByte(rest, '$')
		if j < 0 {
			return "", fmt.Errorf("%w %q: unterminated $ identifier", errTemplate, tmpl)
		}
		ident := rest[:j]
		tmpl = rest[j+1:]
		if ident == "" {
			b.WriteByte('$')
			continue
		}
		name, format, hasFormat := strings.Cut(ident, "%")
		var v uint64
		switch name {
		case "RepresentationID":
			if hasFormat {
				return "", fmt.Errorf("%w: $RepresentationID$ takes no format", errTemplate)
			}
			b.WriteString(id)
			continue
		case "Number":
			v = number
		case "Time":
			v = tm
		case "Bandwidth":
			v = bandwidth
		default:
			return "", fmt.Errorf("%w: unknown identifier $%s$", errTemplate, ident)
		}
		width, err := widthOf(format, hasFormat)
		if err != nil {
			return "", err
		}
		s := strconv.FormatUint(v, 10)
		for k := len(s); k < width; k++ {
			b.WriteByte('0')
		}
		b.WriteString(s)
	}
}

// widthOf parses the format tag of an identifier: "0Nd" (the standard's
// %0[width]d) or "d".
func widthOf(format string, has bool) (int, error) {
	if !has {
		return 0, nil
	}
	digits, ok := strings.CutSuffix(format, "d")
	if !ok {
		return 0, fmt.Errorf("%w: format %%%s is not %%0Nd", errTemplate, format)
	}
	if digits == "" {
		return 0, nil
	}
	w, err := strconv.Atoi(digits)
	if err != nil || w < 0 || w > 64 {
		return 0, fmt.Errorf("%w: format %%%s is not %%0Nd", errTemplate, format)
	}
	return w, nil
}
