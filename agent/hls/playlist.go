// Package hls understands just enough of HTTP Live Streaming (RFC 8216 and
// its low-latency extension) to replicate a live stream safely: which files a
// playlist references, so that a playlist is never published at a destination
// before everything it lists is there, and a segment is never deleted while a
// published playlist still lists it.
package hls

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/efssync/efssync/agent/liveorder"
)

// ErrNotPlaylist is returned by ParsePlaylist when the data does not start
// with #EXTM3U; callers use it to tell "not HLS" from "malformed HLS".
var ErrNotPlaylist = errors.New("hls: not an M3U8 playlist (missing #EXTM3U)")

// Playlist is what the replicator needs to know about one version of a
// playlist file. It deliberately keeps no per-segment timing: ordering and
// delete safety depend only on which files are referenced.
type Playlist struct {
	// Master is true for a multivariant (master) playlist, whose references
	// are themselves playlists.
	Master bool
	// EndList is true once #EXT-X-ENDLIST is present: the stream is
	// complete and the playlist will not change again.
	EndList bool
	// MediaSequence is #EXT-X-MEDIA-SEQUENCE (0 when absent), letting the
	// caller tell a newer version of a live playlist from an older one.
	MediaSequence uint64
	// Version is #EXT-X-VERSION (0 when absent).
	Version int
	// TargetDuration is #EXT-X-TARGETDURATION in seconds (0 when absent).
	TargetDuration int
	// PlaylistType is #EXT-X-PLAYLIST-TYPE (EVENT or VOD), empty when absent.
	PlaylistType string

	// uris are the raw URIs, in order of appearance and without duplicates,
	// that must exist before this playlist may be served.
	uris []string
	// ends holds, per URI named only through byte ranges, the end of the
	// furthest range: a segment stored inside one growing file
	// (#EXT-X-BYTERANGE, ffmpeg's -hls_flags single_file) needs only the
	// bytes before it. A URI also named whole has no entry.
	ends map[string]int64
}

// Needs returns what must be at a destination before the playlist at
// playlistRel may be served there: each referenced file (resolved as Refs
// does), with the byte range it needs when the playlist names it only
// through byte ranges.
func (p *Playlist) Needs(playlistRel string) []liveorder.Ref {
	raw := make([]liveorder.Ref, len(p.uris))
	for i, u := range p.uris {
		raw[i] = liveorder.Ref{Path: u, End: p.ends[u]}
	}
	return liveorder.Collect(playlistRel, raw)
}

// URIs returns the raw URIs, as written in the playlist, of every resource
// that must exist before the playlist may be served: media segments,
// initialization sections (#EXT-X-MAP), partial segments (#EXT-X-PART), key
// files (#EXT-X-KEY), and in a master playlist the variant and rendition
// playlists. Preload hints are excluded: they name parts that do not exist yet.
func (p *Playlist) URIs() []string {
	return append([]string(nil), p.uris...)
}

// Refs returns the root-relative paths of what the playlist references,
// resolved against playlistRel as liveorder.Resolve does (references that
// cannot name a file under the root are dropped).
func (p *Playlist) Refs(playlistRel string) []string {
	needs := p.Needs(playlistRel)
	out := make([]string, len(needs))
	for i, r := range needs {
		out[i] = r.Path
	}
	return out
}

// ParsePlaylist parses a media or master playlist. It is lenient about tags
// it does not need (unknown tags and comments are skipped) and strict only
// where a wrong answer would be unsafe: the data must start with #EXTM3U and
// numeric header tags must be numbers.
func ParsePlaylist(data []byte) (*Playlist, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	p := &Playlist{ends: map[string]int64{}}
	seen := make(map[string]struct{})
	whole := make(map[string]bool)
	// add records u; end > 0 when only bytes [0, end) of it are named.
	add := func(u string, end int64) {
		u = strings.TrimSpace(u)
		if u == "" {
			return
		}
		if _, dup := seen[u]; !dup {
			seen[u] = struct{}{}
			p.uris = append(p.uris, u)
		}
		switch {
		case end <= 0 || whole[u]:
			whole[u] = true
			delete(p.ends, u)
		case end > p.ends[u]:
			p.ends[u] = end
		}
	}
	var br byteRanges

	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	header := false
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if !header {
			if line != "#EXTM3U" && !strings.HasPrefix(line, "#EXTM3U ") {
				return nil, ErrNotPlaylist
			}
			header = true
			continue
		}
		if !strings.HasPrefix(line, "#") {
			// A media segment URI (its byte range, if any, came before),
			// or a variant after #EXT-X-STREAM-INF.
			add(line, br.take(line))
			continue
		}
		if !strings.HasPrefix(line, "#EXT") {
			continue // comment
		}
		name, value, _ := strings.Cut(line, ":")
		switch name {
		case "#EXT-X-ENDLIST":
			p.EndList = true
		case "#EXT-X-MEDIA-SEQUENCE":
			n, err := strconv.ParseUint(strings.TrimSpace(value), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("hls: line %d: bad #EXT-X-MEDIA-SEQUENCE %q: %w", lineNo, value, err)
			}
			p.MediaSequence = n
		case "#EXT-X-VERSION":
			n, err := strconv.Atoi(strings.TrimSpace(value))
			if err != nil {
				return nil, fmt.Errorf("hls: line %d: bad #EXT-X-VERSION %q: %w", lineNo, value, err)
			}
			p.Version = n
		case "#EXT-X-TARGETDURATION":
			n, err := strconv.Atoi(strings.TrimSpace(value))
			if err != nil {
				return nil, fmt.Errorf("hls: line %d: bad #EXT-X-TARGETDURATION %q: %w", lineNo, value, err)
			}
			p.TargetDuration = n
		case "#EXT-X-PLAYLIST-TYPE":
			p.PlaylistType = strings.TrimSpace(value)
		case "#EXT-X-STREAM-INF":
			p.Master = true // the URI follows on the next URI line
		case "#EXT-X-I-FRAME-STREAM-INF", "#EXT-X-MEDIA":
			p.Master = true
			if u, ok := attr(value, "URI"); ok {
				add(u, 0)
			}
		case "#EXT-X-BYTERANGE":
			if err := br.next(value); err != nil {
				return nil, fmt.Errorf("hls: line %d: bad #EXT-X-BYTERANGE %q: %w", lineNo, value, err)
			}
		case "#EXT-X-MAP", "#EXT-X-PART":
			u, ok := attr(value, "URI")
			if !ok {
				break
			}
			var end int64
			if r, ok := attr(value, "BYTERANGE"); ok {
				e, err := br.attr(u, r)
				if err != nil {
					return nil, fmt.Errorf("hls: line %d: bad BYTERANGE %q: %w", lineNo, r, err)
				}
				end = e
			}
			add(u, end)
		case "#EXT-X-KEY":
			if u, ok := attr(value, "URI"); ok {
				add(u, 0)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("hls: reading playlist: %w", err)
	}
	if !header {
		return nil, ErrNotPlaylist
	}
	return p, nil
}

// attr returns the value of one attribute in an RFC 8216 attribute list
// (NAME=value,NAME="quoted, value",...), unquoting quoted strings.
func attr(list, name string) (string, bool) {
	for len(list) > 0 {
		list = strings.TrimLeft(list, " \t,")
		eq := strings.IndexByte(list, '=')
		if eq < 0 {
			return "", false
		}
		key := strings.TrimSpace(list[:eq])
		list = list[eq+1:]
		var val string
		if strings.HasPrefix(list, `"`) {
			end := strings.IndexByte(list[1:], '"')
			if end < 0 {
				val, list = list[1:], "" // unterminated: take the rest
			} else {
				val, list = list[1:1+end], list[2+end:]
			}
		} else {
			end := strings.IndexByte(list, ',')
			if end < 0 {
				val, list = list, ""
			} else {
				val, list = list[:end], list[end:]
			}
		}
		if key == name {
			return val, true
		}
	}
	return "", false
}

// IsPlaylist reports whether rel names an HLS playlist by its extension, so
// the agent knows which files to hold back behind the ordering gate.
func IsPlaylist(rel string) bool {
	switch strings.ToLower(path.Ext(rel)) {
	case ".m3u8", ".m3u":
		return true
	}
	return false
}

// IsSegment reports whether rel names a media segment, partial segment,
// initialization section or subtitle segment by its extension, so the agent
// knows which files to follow while they grow and to keep while listed.
func IsSegment(rel string) bool {
	switch strings.ToLower(path.Ext(rel)) {
	case ".ts", ".m4s", ".mp4", ".aac", ".vtt", ".webvtt", ".m4a", ".m4v",
		".mp3", ".ac3", ".ec3", ".cmfv", ".cmfa", ".cmft", ".m4i", ".init":
		return true
	}
	return false
}
