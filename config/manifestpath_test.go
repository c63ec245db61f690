package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The default manifest depends on the configuration file only: runs of one
// file agree (whatever the working directory or relative spelling), and two
// files never share a manifest.
func TestDefaultManifestFollowsConfigFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(minimalYAML), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	live, migrate := write("live.yaml"), write("config.yaml")
	env := []string{"STATE_DIRECTORY=/var/lib/efssync"}
	a := mustLoadFile(t, live, env)
	b := mustLoadFile(t, migrate, env)
	if a.Manifest == b.Manifest {
		t.Fatalf("two configuration files share the manifest %s", a.Manifest)
	}
	if !strings.HasPrefix(a.Manifest, "/var/lib/efssync/manifests/live-") || !strings.HasSuffix(a.Manifest, ".db") {
		t.Errorf("manifest %s: want /var/lib/efssync/manifests/live-<hash>.db", a.Manifest)
	}
	// The same file named relatively from its directory, with a state
	// directory given by the file rather than systemd: same manifest name.
	t.Chdir(dir)
	c := mustLoadFile(t, "./live.yaml", env)
	if c.Manifest != a.Manifest {
		t.Errorf("relative path gave %s, absolute %s", c.Manifest, a.Manifest)
	}
	// An explicit manifest wins.
	d := mustLoadFile(t, live, append(env, "EFSSYNC_MANIFEST=/srv/m.db"))
	if d.Manifest != "/srv/m.db" {
		t.Errorf("explicit manifest: got %s", d.Manifest)
	}
}

func TestDefaultManifestName(t *testing.T) {
	for _, c := range []struct{ cfg, prefix string }{
		{"/etc/efssync/config.yaml", "/s/manifests/config-"},
		{"/etc/efssync/my live!.toml", "/s/manifests/my_live_-"},
		{"/etc/efssync/.yaml", "/s/manifests/config-"},
		{"", "/s/manifest.db"},
	} {
		if got := DefaultManifest("/s", c.cfg); !strings.HasPrefix(got, c.prefix) {
			t.Errorf("DefaultManifest(%q) = %s, want prefix %s", c.cfg, got, c.prefix)
		}
	}
}

func mustLoadFile(t *testing.T, path string, env []string) *Config {
	t.Helper()
	c, err := Load(path, env)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return c
}
