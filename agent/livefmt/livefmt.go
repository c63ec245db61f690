// Package livefmt maps a job's `order` rules to the manifest formats they
// name (HLS playlists, DASH MPDs) and to the one parser for each, so every
// mode asks one place "is this a manifest, and what does it need at a
// destination before it may be served there". The rule itself lives in
// liveorder; the formats in hls and dash.
package livefmt

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/efssync/efssync/agent/dash"
	"github.com/efssync/efssync/agent/hls"
	"github.com/efssync/efssync/agent/liveorder"
)

// The values of a job's `order` list.
const (
	HLS  = "hls"
	DASH = "dash"
)

// Rules is the set of ordering rules a job asked for. The zero value asks
// for none: nothing is a manifest and nothing is held back.
type Rules struct {
	hls, dash bool
}

// New returns the rules named by order. An unknown name is an error
// naming it (config validation reports it with its key first).
func New(order []string) (Rules, error) {
	var r Rules
	for _, o := range order {
		switch o {
		case HLS:
			r.hls = true
		case DASH:
			r.dash = true
		default:
			return Rules{}, fmt.Errorf("unknown ordering rule %q (known: %q, %q)", o, HLS, DASH)
		}
	}
	return r, nil
}

// Any reports whether any rule is on.
func (r Rules) Any() bool { return r.hls || r.dash }

// IsManifest reports whether rel is a manifest one of the rules orders:
// it is held back at each destination until everything it names is there.
func (r Rules) IsManifest(rel string) bool {
	return r.hls && hls.IsPlaylist(rel) || r.dash && isMPD(rel)
}

func isMPD(rel string) bool { return strings.EqualFold(path.Ext(rel), ".mpd") }

// EncoderTemp reports whether rel is an encoder's temp file under an
// ordering rule: ffmpeg writes manifests (and DASH segments) as NAME.tmp
// and renames them, and only the rename counts.
func (r Rules) EncoderTemp(rel string) bool {
	return r.Any() && strings.HasSuffix(rel, ".tmp")
}

// Needs parses data, the content of the manifest at rel, and returns what
// must be at a destination before it may be served there. now places the
// live edge of a DASH template without a timeline (see dash.MPD.Refs).
func (r Rules) Needs(rel string, data []byte, now time.Time) ([]liveorder.Ref, error) {
	switch {
	case r.hls && hls.IsPlaylist(rel):
		pl, err := hls.ParsePlaylist(data)
		if err != nil {
			return nil, fmt.Errorf("playlist %s: %w", rel, err)
		}
		return pl.Needs(rel), nil
	case r.dash && isMPD(rel):
		m, err := dash.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("manifest %s: %w", rel, err)
		}
		return m.Refs(rel, now), nil
	}
	return nil, fmt.Errorf("%s is not a manifest under the ordering rules", rel)
}
