package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/efssync/efssync/internal/treetest"
)

// hlsPlaylist is a live playlist listing seg<first>..seg<last>.
func hlsPlaylist(first, last int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:%d\n", first)
	for i := first; i <= last; i++ {
		fmt.Fprintf(&b, "#EXTINF:1.0,\nseg%03d.ts\n", i)
	}
	return b.String()
}

// A restarted watch agent starts with empty HLS gates while the
// destination still serves the playlist an earlier run published. The
// segments the source removed while the agent was stopped must stay at the
// destination until a newer playlist replaces the one that lists them: the
// sweep after the initial pass must not delete them at once (the soak's
// violation episode right after an agent restart).
func TestRestartKeepsSegmentsTheServedPlaylistLists(t *testing.T) {
	f := newFixture(t, 1)
	f.extra = "    order: [hls]\n    delete: mirror\n    max_delete: \"100%\"\n    finished: {quiet: 60s}\n"
	files := map[string]string{"live.m3u8": hlsPlaylist(0, 2), "other.txt": "o", "other2.txt": "o2"}
	for i := range 3 {
		files[fmt.Sprintf("seg%03d.ts", i)] = fmt.Sprintf("segment %d", i)
	}
	treetest.Write(t, f.src, files)
	old := time.Now().Add(-2 * time.Minute)
	for n := range files {
		must(t, os.Chtimes(filepath.Join(f.src, n), old, old))
	}
	if sum := f.run(Options{}); !sum.OK() {
		t.Fatalf("first run: %+v", sum)
	}
	// While the agent is stopped the stream moves on: seg000 leaves the
	// window, seg003 is still within finished.quiet, so the new playlist
	// is held back and the destination keeps serving the old one.
	must(t, os.Remove(filepath.Join(f.src, "seg000.ts")))
	must(t, os.Remove(filepath.Join(f.src, "other.txt")))
	treetest.Write(t, f.src, map[string]string{"seg003.ts": "segment 3", "live.m3u8": hlsPlaylist(1, 3)})

	ready, stop := f.startWatch(t)
	<-ready
	dst := f.dests[0]
	gone := func(name string) func() bool {
		return func() bool { _, err := os.Lstat(filepath.Join(dst, name)); return os.IsNotExist(err) }
	}
	eventually(t, "the sweep's delete of other.txt", gone("other.txt"))
	// A delete queued after the sweep: the loop that carries it out also
	// carries out every delete the sweep queued that no playlist holds.
	must(t, os.Remove(filepath.Join(f.src, "other2.txt")))
	eventually(t, "the delete of other2.txt", gone("other2.txt"))
	stop()
	served, err := os.ReadFile(filepath.Join(dst, "live.m3u8"))
	must(t, err)
	if string(served) != hlsPlaylist(0, 2) {
		t.Fatalf("the destination serves %q, want the old playlist (the new one lists an unfinished segment)", served)
	}
	if gone("seg000.ts")() {
		t.Fatal("seg000.ts was deleted while the playlist the destination serves lists it")
	}
}
