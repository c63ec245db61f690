package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/efssync/efssync/manifest"
)

// A damaged manifest fails with an error that names the file and says how
// to recover (issue 11, weak spots).
func TestDamagedManifestSaysHowToRecover(t *testing.T) {
	f := newFixture(t, 1)
	cfg := f.config()
	must(t, os.MkdirAll(filepath.Dir(cfg.Manifest), 0o700))
	must(t, os.WriteFile(cfg.Manifest, []byte(strings.Repeat("not a bbolt file ", 1000)), 0o600))
	_, err := New(cfg, Options{})
	if !errors.Is(err, manifest.ErrCorrupt) {
		t.Fatalf("New: %v, want ErrCorrupt", err)
	}
	for _, want := range []string{cfg.Manifest, "move the damaged manifest aside", "adopt"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}
