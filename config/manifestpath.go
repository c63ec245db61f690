package config

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
)

// DefaultManifest is the manifest path used when a configuration sets none:
// <stateDir>/manifests/<stem>-<hash>.db, where stem is the configuration
// file's name without its extension and hash is the first 12 hex digits of
// the SHA-256 of its absolute path.
//
// The rule exists so that two agents never share a manifest by accident
// (the live service and a migration timer on one host each have their own
// configuration file, so each gets its own manifest), while every run of one
// configuration file, by hand or from systemd, finds the same manifest again.
// Renaming or moving the configuration file starts a new manifest; set
// `manifest` explicitly to keep one across such a move. An empty configPath
// (a Config built without a file) falls back to <stateDir>/manifest.db.
func DefaultManifest(stateDir, configPath string) string {
	if configPath == "" {
		return filepath.Join(stateDir, "manifest.db")
	}
	abs, err := filepath.Abs(configPath)
	if err != nil {
		abs = filepath.Clean(configPath)
	}
	sum := sha256.Sum256([]byte(abs))
	stem := strings.TrimSuffix(filepath.Base(abs), filepath.Ext(abs))
	return filepath.Join(stateDir, "manifests", safeStem(stem)+"-"+hex.EncodeToString(sum[:6])+".db")
}

// safeStem keeps the letters, digits, '.', '_' and '-' of a file name, so
// the manifest's name stays readable and portable whatever the config is
// called.
func safeStem(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !isSafeNameByte(c) {
			b[i] = '_'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	if len(b) == 0 {
		return "config"
	}
	return string(b)
}

// deriveManifest sets the default manifest path of a configuration read
// from the file at path, before SetDefaults would fall back to the
// file-less default.
func (c *Config) deriveManifest(env []string, path string) {
	if c.Manifest != "" || path == "" {
		return
	}
	if c.StateDir == "" {
		c.StateDir = defaultStateDir(env)
	}
	if filepath.IsAbs(c.StateDir) {
		c.Manifest = DefaultManifest(c.StateDir, path)
	}
}
