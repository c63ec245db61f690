package agent

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/efssync/efssync/internal/treetest"
)

// Issue 11's D1 reproduction in watch mode: a muxer writes a recording,
// then patches its header at close. With after_archive: delete and verify:
// all, the source may only go once the destination holds the patched
// bytes: never is the only copy left the one with the old header.
func TestWatchArchiveOfRewrittenHeader(t *testing.T) {
	f := newFixture(t, 1)
	f.extra = "    mode: watch\n    quiet: 30s\n    rescan: 1s\n    finished: {quiet: 1s}\n    after_archive: delete\n    verify: all\n"
	ready, _ := f.startWatch(t)
	<-ready
	src, dst := filepath.Join(f.src, "rec.mp4"), filepath.Join(f.dests[0], "rec.mp4")
	body := make([]byte, 99999)
	_, _ = rand.Read(body)
	w, err := os.Create(src)
	must(t, err)
	_, err = w.Write(append([]byte("HDR0"), body...))
	must(t, err)
	// The follower has sent the old header before the writer patches it.
	eventually(t, "the first bytes sent", func() bool {
		for _, p := range treetest.Leftovers(t, f.dests[0]) {
			if fi, err := os.Stat(p); err == nil && fi.Size() > 0 {
				return true
			}
		}
		return false
	})
	_, err = w.Write(body)
	must(t, err)
	_, err = w.WriteAt([]byte("MOOV"), 0)
	must(t, err)
	final := append(append([]byte("MOOV"), body...), body...)
	must(t, w.Close())
	eventually(t, "the source archived", func() bool {
		_, err := os.Stat(src)
		return os.IsNotExist(err)
	})
	got, err := os.ReadFile(dst)
	must(t, err)
	if !bytes.Equal(got, final) {
		t.Fatalf("the source was deleted and the replica holds %q... (%d bytes), not the final content", got[:4], len(got))
	}
}
