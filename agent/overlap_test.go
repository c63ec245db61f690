package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/efssync/efssync/config"
)

// A destination that became the source's own directory after the
// configuration was loaded (a symlink swapped in, a mount changed) is
// refused when the run starts, naming both keys, and nothing is written.
func TestOverlapCheckedAgainAtStart(t *testing.T) {
	f := newFixture(t, 1)
	must(t, os.WriteFile(filepath.Join(f.src, "a"), []byte("x"), 0o644))
	link := filepath.Join(f.dir, "dstlink")
	must(t, os.Symlink(f.dests[0], link))
	f.dests[0] = link
	cfg := f.config()
	// Now the link leads into the source.
	must(t, os.Remove(link))
	must(t, os.Symlink(filepath.Join(f.src), link))
	a, err := New(cfg, Options{})
	must(t, err)
	defer a.Close()
	_, err = a.Run(context.Background())
	var ve *config.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("run: %v, want a validation error", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "jobs[0].source") || !strings.Contains(msg, "jobs[0].destinations[0]") {
		t.Fatalf("error does not name both keys: %v", err)
	}
	entries, _ := os.ReadDir(f.src)
	if len(entries) != 1 {
		t.Fatalf("the source was written to: %v", entries)
	}
}
