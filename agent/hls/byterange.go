package hls

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// byteRanges follows #EXT-X-BYTERANGE through a playlist: a range applies
// to the next media segment URI, and one without an offset starts where
// the previous range of the same resource ended (RFC 8216 4.3.2.2).
type byteRanges struct {
	pending        bool
	length, offset int64
	hasOffset      bool
	prevEnd        map[string]int64
}

// next records the range of the next media segment from the tag's value
// "<n>[@<o>]".
func (b *byteRanges) next(value string) error {
	n, o, has, err := parseRange(value)
	if err != nil {
		return err
	}
	b.pending, b.length, b.offset, b.hasOffset = true, n, o, has
	return nil
}

// take consumes the pending range for the segment uri and returns the end
// of the bytes it needs (0: no range, the whole file).
func (b *byteRanges) take(uri string) int64 {
	if !b.pending {
		return 0
	}
	b.pending = false
	if b.prevEnd == nil {
		b.prevEnd = map[string]int64{}
	}
	start := b.prevEnd[uri]
	if b.hasOffset {
		start = b.offset
	}
	end := satAdd(start, b.length)
	b.prevEnd[uri] = end
	return end
}

// attr returns the end of a BYTERANGE attribute ("<n>[@<o>]", the offset
// 0 when absent) of #EXT-X-MAP or #EXT-X-PART for uri.
func (b *byteRanges) attr(uri, value string) (int64, error) {
	n, o, _, err := parseRange(value)
	if err != nil {
		return 0, err
	}
	return satAdd(o, n), nil
}

var errRange = errors.New("want <length>[@<offset>] in bytes")

func parseRange(value string) (n, o int64, hasOffset bool, err error) {
	ns, os, hasOffset := strings.Cut(strings.TrimSpace(value), "@")
	n, err = strconv.ParseInt(ns, 10, 64)
	if err != nil || n < 0 {
		return 0, 0, false, errRange
	}
	if hasOffset {
		o, err = strconv.ParseInt(os, 10, 64)
		if err != nil || o < 0 {
			return 0, 0, false, errRange
		}
	}
	return n, o, hasOffset, nil
}

// satAdd adds two non-negative offsets without wrapping: a range that
// would end past the largest offset can never be satisfied, which the
// gate then holds back, the safe answer.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
