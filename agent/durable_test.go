package agent

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"testing"

	"github.com/efssync/efssync/internal/faultfs"
)

// The run marker and a new manifest survive a power cut right after they
// were made: their directory entries are fsynced (issue 11, power loss).
func TestRunMarkerAndNewManifestSurvivePowerCut(t *testing.T) {
	backing := t.TempDir()
	// bbolt maps the manifest on the in-process FUSE mount: a collection
	// stopping the world while a thread faults on the mapping would wait
	// for the server forever (see internal/powertest).
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	f, mnt := faultfs.Mount(t, backing, faultfs.Options{PowerLoss: true, CacheTimeout: -1, CutErrno: syscall.EROFS})
	state := filepath.Join(mnt, "state")
	marker := filepath.Join(state, "job.running")
	must(t, os.MkdirAll(state, 0o700))
	must(t, syncDir(mnt)) // the state directory itself is the operator's, durable
	if _, err := (realEffects{}).mark(marker); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "src")
	must(t, os.MkdirAll(src, 0o755))
	fx := &fixture{t: t, dir: t.TempDir(), src: src, dests: []string{t.TempDir()}}
	cfg := fx.config()
	cfg.Manifest = filepath.Join(state, "new", "manifest.db")
	a, err := New(cfg, Options{})
	must(t, err)
	must(t, a.Close())
	must(t, f.PowerCut())
	faultfs.Remount(t, f)
	for _, p := range []string{marker, cfg.Manifest} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s lost by the power cut: %v", p, err)
		}
	}
}
