// Package liveorder holds the ordering rule of live streams at one
// destination, shared by every manifest format (HLS playlists, DASH MPDs):
// a manifest is served only after every file it names is there, up to the
// bytes it names, and a file is deleted only when no served manifest names
// it. The format parsers turn a manifest into Refs; the Gate applies the
// rule. Keeping one rule for all formats is the point: a second copy per
// format would drift.
package liveorder

import (
	"net/url"
	"path"
	"strings"
)

// Ref is one file a manifest names, as a root-relative slash path.
type Ref struct {
	Path string
	// End, when positive, says that only bytes [0, End) of Path must be at
	// the destination: a byte-range segment of a file that is still growing
	// (HLS #EXT-X-BYTERANGE, DASH mediaRange). Zero means the whole file.
	End int64
}

// Resolve maps uri, as written in the manifest at manifestRel (a
// slash-separated path relative to the source root), to a root-relative
// path, or reports false when it names nothing replicable under the root:
// absolute URLs (http:, data:, skd:, ...), server-absolute paths ("/x"),
// and relative paths that escape the root with "..". Query strings and
// fragments are stripped and percent-escapes decoded.
func Resolve(manifestRel, uri string) (string, bool) {
	dir := path.Dir(path.Clean("/" + manifestRel))[1:]
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

// IsAbsolute reports whether uri is an absolute URL or a server-absolute
// path: something a relative reference is not resolved against the
// manifest's directory for. Parsers joining base URLs use it.
func IsAbsolute(uri string) bool {
	return strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, `\`) || hasScheme(uri)
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

// Collect resolves uris against manifestRel and merges duplicates, keeping
// the first appearance's position and the largest byte range (a whole-file
// reference wins over any range).
func Collect(manifestRel string, refs []Ref) []Ref {
	out := make([]Ref, 0, len(refs))
	at := make(map[string]int, len(refs))
	for _, r := range refs {
		p, ok := Resolve(manifestRel, r.Path)
		if !ok {
			continue
		}
		if i, dup := at[p]; dup {
			if out[i].End != 0 && (r.End == 0 || r.End > out[i].End) {
				out[i].End = r.End
			}
			continue
		}
		at[p] = len(out)
		out = append(out, Ref{Path: p, End: r.End})
	}
	return out
}
