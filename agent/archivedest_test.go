package agent

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// after_archive: delete keeps the source while any destination of the job
// lacks it, including one that was unusable at start and left out of the
// run by Preflight (its fs root missing): once it is back, the next run
// copies the file there, and only then is the source released.
func TestArchiveKeepsTheSourceForADestinationUnusableAtStart(t *testing.T) {
	f := newFixture(t, 2)
	f.extra = "    after_archive: delete\n    finished: {quiet: 1s}\n"
	src := filepath.Join(f.src, "rec.mp4")
	must(t, os.WriteFile(src, []byte("a finished recording"), 0o644))
	old := time.Now().Add(-time.Hour)
	must(t, os.Chtimes(src, old, old))
	must(t, os.Remove(f.dests[1]))
	run := func() *Summary {
		t.Helper()
		cfg := f.config()
		out, _, _ := Preflight(context.Background(), cfg, nil)
		a, err := New(out, Options{Configured: cfg})
		must(t, err)
		defer a.Close()
		sum, err := a.Run(context.Background())
		must(t, err)
		return sum
	}
	run()
	if _, err := os.Stat(src); err != nil {
		t.Fatalf("the source was released while destination %s never got it: %v", f.dests[1], err)
	}
	must(t, os.Mkdir(f.dests[1], 0o755))
	run() // copies to the destination that came back; releases after it holds the file
	if _, err := os.Stat(filepath.Join(f.dests[1], "rec.mp4")); err != nil {
		t.Fatalf("the destination that came back did not get the file: %v", err)
	}
	run()
	if _, err := os.Stat(src); !os.IsNotExist(err) {
		t.Errorf("the source stays although every destination holds it: %v", err)
	}
}
