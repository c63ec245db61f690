// Package dash understands just enough of an MPEG-DASH manifest (ISO/IEC
// 23009-1 MPD) to replicate a live stream safely: which files a manifest
// names (initialization and media segments), so that a manifest is never
// served by a replica before the segments it names are whole there, and a
// segment is never deleted there while a served manifest still names it.
//
// Segment addressing covered: SegmentTemplate (at Period, AdaptationSet or
// Representation level, attributes inherited downwards) with or without a
// SegmentTimeline, SegmentList, SegmentBase, and BaseURL at every level.
package dash

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrNotMPD is returned by Parse when the document's root element is not
// an MPD; callers use it to tell "not DASH" from "malformed DASH".
var ErrNotMPD = errors.New("dash: not an MPD (root element is not <MPD>)")

// maxSegments bounds how many segment references one manifest may expand
// to. A live manifest names a window of a few dozen; a huge @r or a short
// @duration over a long period would otherwise exhaust memory.
const maxSegments = 1 << 16

// The XML schema, as far as it is used. Attributes that inherit between
// levels are pointers, so that "absent" differs from "zero".
type (
	mpdXML struct {
		XMLName  xml.Name    `xml:"MPD"`
		Type     string      `xml:"type,attr"`
		AST      string      `xml:"availabilityStartTime,attr"`
		Duration string      `xml:"mediaPresentationDuration,attr"`
		BaseURL  []string    `xml:"BaseURL"`
		Periods  []periodXML `xml:"Period"`
	}
	periodXML struct {
		ID       string             `xml:"id,attr"`
		Start    string             `xml:"start,attr"`
		Duration string             `xml:"duration,attr"`
		BaseURL  []string           `xml:"BaseURL"`
		Template *templateXML       `xml:"SegmentTemplate"`
		List     *listXML           `xml:"SegmentList"`
		Base     *baseXML           `xml:"SegmentBase"`
		Sets     []adaptationSetXML `xml:"AdaptationSet"`
	}
	adaptationSetXML struct {
		BaseURL  []string            `xml:"BaseURL"`
		Template *templateXML        `xml:"SegmentTemplate"`
		List     *listXML            `xml:"SegmentList"`
		Base     *baseXML            `xml:"SegmentBase"`
		Reps     []representationXML `xml:"Representation"`
	}
	representationXML struct {
		ID        string       `xml:"id,attr"`
		Bandwidth uint64       `xml:"bandwidth,attr"`
		BaseURL   []string     `xml:"BaseURL"`
		Template  *templateXML `xml:"SegmentTemplate"`
		List      *listXML     `xml:"SegmentList"`
		Base      *baseXML     `xml:"SegmentBase"`
	}
	templateXML struct {
		Media          *string      `xml:"media,attr"`
		Initialization *string      `xml:"initialization,attr"`
		StartNumber    *uint64      `xml:"startNumber,attr"`
		Timescale      *uint64      `xml:"timescale,attr"`
		Duration       *uint64      `xml:"duration,attr"`
		PTO            *uint64      `xml:"presentationTimeOffset,attr"`
		Timeline       *timelineXML `xml:"SegmentTimeline"`
	}
	timelineXML struct {
		S []sXML `xml:"S"`
	}
	sXML struct {
		T *uint64 `xml:"t,attr"`
		D uint64  `xml:"d,attr"`
		R int64   `xml:"r,attr"`
	}
	listXML struct {
		Init *urlXML         `xml:"Initialization"`
		URLs []segmentURLXML `xml:"SegmentURL"`
	}
	segmentURLXML struct {
		Media      *string `xml:"media,attr"`
		MediaRange string  `xml:"mediaRange,attr"`
	}
	baseXML struct {
		Init *urlXML `xml:"Initialization"`
	}
	urlXML struct {
		SourceURL *string `xml:"sourceURL,attr"`
		Range     string  `xml:"range,attr"`
	}
)

// MPD is what the replicator needs to know about one version of a manifest.
type MPD struct {
	// Dynamic is true for a live manifest (type="dynamic").
	Dynamic bool
	// AvailabilityStart is @availabilityStartTime, zero when absent.
	AvailabilityStart time.Time
	reps              []rep
}

// Parse parses a manifest. It is strict where a wrong answer would be
// unsafe (the root must be <MPD>, numbers and durations must parse,
// templates must be well formed) and ignores everything it does not need.
func Parse(data []byte) (*MPD, error) {
	var x mpdXML
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	if err := dec.Decode(&x); err != nil {
		var wrongRoot xml.UnmarshalError
		if errors.Is(err, io.EOF) || errors.As(err, &wrongRoot) {
			return nil, ErrNotMPD
		}
		return nil, fmt.Errorf("dash: %w", err)
	}
	m := &MPD{Dynamic: x.Type == "dynamic"}
	if x.AST != "" {
		t, err := time.Parse(time.RFC3339Nano, x.AST)
		if err != nil {
			return nil, fmt.Errorf("dash: bad MPD@availabilityStartTime %q: %w", x.AST, err)
		}
		m.AvailabilityStart = t
	}
	total, err := optDuration("MPD@mediaPresentationDuration", x.Duration)
	if err != nil {
		return nil, err
	}
	if err := m.collect(&x, total); err != nil {
		return nil, err
	}
	return m, nil
}
