package playertest

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
)

// PlayHLS runs ffmpeg as a viewer of the live playlist at url, from the
// first segment the playlist lists, decoding every frame until the stream
// ends (#EXT-X-ENDLIST) or ctx ends. It returns what ffmpeg reported at
// error level: failed requests, short or corrupt segments, decode errors.
// ffmpegBin is the ffmpeg to run.
func PlayHLS(ctx context.Context, t testing.TB, ffmpegBin, url string) []string {
	t.Helper()
	cmd := exec.CommandContext(ctx, ffmpegBin, "-hide_banner", "-nostdin", "-loglevel", "error",
		"-live_start_index", "0", "-i", url, "-f", "null", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var out []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	if err != nil && ctx.Err() == nil {
		out = append(out, "ffmpeg player: "+err.Error())
	}
	return out
}
