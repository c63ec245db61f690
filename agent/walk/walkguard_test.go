package walk

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/efssync/efssync/config"
)

// A walked source directory that is a destination root (a bind mount made
// after the start-up check) stops the walk, naming both paths; any other
// directory passes.
func TestGuardedDirsRefuseADestinationInTheSource(t *testing.T) {
	base := t.TempDir()
	dst, state, other := filepath.Join(base, "dst"), filepath.Join(base, "state"), filepath.Join(base, "other")
	for _, d := range []string{dst, state, other} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := &config.Config{StateDir: state}
	job := config.Job{Destinations: []config.Destination{{Type: "fs", Path: dst}}}
	g := GuardsOf(cfg, job)
	entry := func(dir string) Entry {
		fi, err := os.Lstat(dir)
		if err != nil {
			t.Fatal(err)
		}
		return EntryOf(base, "inner", fi)
	}
	for _, d := range []string{dst, state} {
		err := g.Check(entry(d))
		if err == nil || !strings.Contains(err.Error(), d) || !strings.Contains(err.Error(), filepath.Join(base, "inner")) {
			t.Errorf("walking into %s: %v, want an error naming it and the source path", d, err)
		}
	}
	if err := g.Check(entry(other)); err != nil {
		t.Errorf("an ordinary directory: %v", err)
	}
}
