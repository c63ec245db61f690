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
	"net/url"
	"path"
	"strconv"
	"strings"
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
}

// URIs returns the raw URIs, as written in the playlist, of every resource
// that must exist before the playlist may be served: media segments,
// initialization sections (#EXT-X-MAP), partial segments (#EXT-X-PART), key
// files (#EXT-X-KEY), and in a master playlist the variant and rendition
// playlists. Preload hints are excluded: they name parts that do not exist yet.
func (p *Playlist) URIs() []string {
	return append([]string(nil), p.uris...)
}

// Refs resolves the playlist's URIs against playlistRel, the playlist's own
// slash-separated path relative to the source root, and returns root-relative
// slash paths. References that cannot name a file under the root are
// dropped: absolute URLs (http:, https:, data:, skd:, ...), server-absolute
// paths ("/x"), and relative paths that escape the root with "..". Query
// strings and fragments are stripped and percent-escapes decoded.
func (p *Playlist) Refs(playlistRel string) []string {
	dir := path.Dir(path.Clean("/" + playlistRel))[1:]
	out := make([]string, 0, len(p.uris))
	seen := make(map[string]struct{}, len(p.uris))
	for _, u := range p.uris {
		rel, ok := resolve(dir, u)
		if !ok {
			continue
		}
		if _, dup := seen[rel]; dup {
			continue
		}
		seen[rel] = struct{}{}
		out = append(out, rel)
	}
	return out
}

// resolve maps one playlist URI to a root-relative path, or reports false
// when it names nothing replicable under the root.
func resolve(dir, uri string) (string, bool) {
	if i := strings.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	uri = strings.TrimSpace(uri)
	if uri == "" || strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, `\`) || hasScheme(uri) {
		return "", false
	}
	if strings.Contains(uri, "%") {
		if dec, err := url.PathUnescape(uri); err == nil {
			uri = dec
		}
	}
	if strings.ContainsRune(uri, 0) || strings.HasPrefix(uri, "/") {
		return "", false
	}
	rel := path.Clean(path.Join(dir, uri))
	if rel == "." || rel == ".." || strings.HasPrefix(rel, "../") || strings.HasPrefix(rel, "/") {
		return "", false
	}
	return rel, true
}

// hasScheme reports whether uri starts with an RFC 3986 scheme ("http:",
// "data:"), which makes it absolute rather than a path.
func hasScheme(uri string) bool {
	for i := 0; i < len(uri); i++ {
		c := uri[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		case c == ':':
			return i > 0
		default:
			return false
		}
	}
	return false
}

// ParsePlaylist parses a media or master playlist. It is lenient about tags
// it does not need (unknown tags and comments are skipped) and strict only
// where a wrong answer would be unsafe: the data must start with #EXTM3U and
// numeric header tags must be numbers.
func ParsePlaylist(data []byte) (*Playlist, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	p := &Playlist{}
	seen := make(map[string]struct{})
	add := func(u string) {
		u = strings.TrimSpace(u)
		if u == "" {
			return
		}
		if _, dup := seen[u]; dup {
			return
		}
		seen[u] = struct{}{}
		p.uris = append(p.uris, u)
	}

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
			add(line) // a media segment URI, or a variant after #EXT-X-STREAM-INF
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
				add(u)
			}
		case "#EXT-X-MAP", "#EXT-X-PART", "#EXT-X-KEY":
			if u, ok := attr(value, "URI"); ok {
				add(u)
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
