package playertest

import (
	"fmt"
	"path/filepath"
)

// The stream formats Encode knows.
const (
	DASH       = "dash"        // -f dash, templates with timelines
	HLSfMP4    = "hls-fmp4"    // fMP4 segments behind #EXT-X-MAP
	HLSOneFile = "hls-onefile" // fMP4, one growing file, #EXT-X-BYTERANGE
	HLSTS      = "hls-ts"      // MPEG-TS segments
)

// EncodeArgs returns ffmpeg arguments that encode a live test stream of
// seconds (video and audio, one-second segments, in real time) into dir,
// and the manifest's name there. The encoder slides a short window and
// deletes what leaves it, as a live packager does.
func EncodeArgs(format, dir string, seconds int) (args []string, manifest string, err error) {
	args = []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc=size=320x180:rate=25:duration=%d", seconds),
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:sample_rate=48000:duration=%d", seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-b:v", "400k",
		"-g", "25", "-keyint_min", "25", "-sc_threshold", "0", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "64k"}
	hls := []string{"-f", "hls", "-hls_time", "1", "-hls_list_size", "6"}
	switch format {
	case DASH:
		manifest = "live.mpd"
		args = append(args, "-f", "dash", "-window_size", "5", "-extra_window_size", "2", "-seg_duration", "1",
			"-use_template", "1", "-use_timeline", "1", "-streaming", "0")
	case HLSfMP4:
		manifest = "live.m3u8"
		args = append(args, hls...)
		args = append(args, "-hls_segment_type", "fmp4", "-hls_flags", "delete_segments")
	case HLSOneFile:
		manifest = "live.m3u8"
		args = append(args, hls...)
		args = append(args, "-hls_segment_type", "fmp4", "-hls_flags", "single_file")
	case HLSTS:
		manifest = "live.m3u8"
		args = append(args, hls...)
		args = append(args, "-hls_flags", "delete_segments")
	default:
		return nil, "", fmt.Errorf("unknown stream format %q (%s, %s, %s, %s)", format, DASH, HLSfMP4, HLSOneFile, HLSTS)
	}
	return append(args, filepath.Join(dir, manifest)), manifest, nil
}
