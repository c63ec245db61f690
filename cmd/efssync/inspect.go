package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/manifest"
)

// inspectManifest points cfg at a consistent snapshot of its manifest, for
// commands that only read it (verify, run --dry-run): they then work while
// an agent holds the manifest, and never make that agent's next start fail.
// The returned function removes the snapshot. A manifest that does not
// exist yet is left alone (the agent treats that case itself).
func inspectManifest(ctx context.Context, cfg *config.Config) (func(), error) {
	if _, err := os.Stat(cfg.Manifest); errors.Is(err, fs.ErrNotExist) {
		return func() {}, nil
	}
	// Beside the manifest first: the same file system (a reflink or an
	// in-kernel copy, and no large file in a RAM-backed /tmp); the temp
	// directory when the state directory is not writable by this user.
	dir, err := os.MkdirTemp(filepath.Dir(cfg.Manifest), ".inspect-")
	if err != nil {
		if dir, err = os.MkdirTemp("", "efssync-inspect-"); err != nil {
			return nil, fmt.Errorf("manifest snapshot: %w", err)
		}
	}
	snap := filepath.Join(dir, filepath.Base(cfg.Manifest))
	if err := manifest.Snapshot(ctx, cfg.Manifest, snap); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cfg.Manifest = snap
	return func() { os.RemoveAll(dir) }, nil
}
