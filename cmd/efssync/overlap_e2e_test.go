package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Overlaps hidden behind symlinks are configuration errors: exit 2 before
// anything is copied or deleted, naming both keys.
func TestOverlapThroughSymlinksExits2(t *testing.T) {
	cases := []struct {
		name   string
		config func(base string) string
		want   []string
	}{
		{"destination is the source through a link", func(base string) string {
			return "state_dir: " + quote(filepath.Join(base, "state")) + "\njobs:\n  - name: j\n    source: " + quote(filepath.Join(base, "src")) +
				"\n    publish: progressive\n    destinations:\n      - type: fs\n        path: " + quote(filepath.Join(base, "src-link")) + "\n"
		}, []string{"jobs[0].destinations[0].path", "jobs[0].source"}},
		{"state_dir inside a mirror destination through a link", func(base string) string {
			return "state_dir: " + quote(filepath.Join(base, "dst-link", "state")) + "\njobs:\n  - name: j\n    source: " + quote(filepath.Join(base, "src")) +
				"\n    delete: mirror\n    destinations:\n      - type: fs\n        path: " + quote(filepath.Join(base, "dst")) + "\n"
		}, []string{"state_dir", "jobs[0].destinations[0].path"}},
		{"two jobs on one destination", func(base string) string {
			return "state_dir: " + quote(filepath.Join(base, "state")) + "\njobs:\n  - name: a\n    source: " + quote(filepath.Join(base, "src")) +
				"\n    destinations:\n      - type: fs\n        path: " + quote(filepath.Join(base, "dst")) +
				"\n  - name: b\n    source: " + quote(filepath.Join(base, "other")) +
				"\n    destinations:\n      - type: fs\n        path: " + quote(filepath.Join(base, "dst-link", "sub")) + "\n"
		}, []string{"jobs[1].destinations[0].path", "jobs[0].destinations[0].path"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			mkdirs(t, base, "src", "dst", "other")
			if err := os.WriteFile(filepath.Join(base, "src", "f"), []byte("keep me"), 0o644); err != nil {
				t.Fatal(err)
			}
			for link, target := range map[string]string{"src-link": "src", "dst-link": "dst"} {
				if err := os.Symlink(target, filepath.Join(base, link)); err != nil {
					t.Fatal(err)
				}
			}
			mustRefuseConfig(t, base, tc.config(base), tc.want...)
			if b, err := os.ReadFile(filepath.Join(base, "src", "f")); err != nil || string(b) != "keep me" {
				t.Errorf("source file after the refused run: %q, %v", b, err)
			}
		})
	}
}

// mustRefuseConfig runs efssync on config (written under base) and fails
// unless it exits 2 with stderr naming every one of want.
func mustRefuseConfig(t *testing.T, base, config string, want ...string) {
	t.Helper()
	p := filepath.Join(base, "c.yaml")
	if err := os.WriteFile(p, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	r := efssync(t, nil, "run", "--config", p)
	mustCode(t, r, 2)
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr does not name %s:\n%s", w, r.stderr)
		}
	}
}
