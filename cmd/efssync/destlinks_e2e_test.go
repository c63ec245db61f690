package main

import (
	"os"
	"path/filepath"
	"testing"
)

// The example: a replicated directory replaced by a symlink to a
// directory outside the destination. The next run writes nothing there.
func TestRunNeverWritesThroughAPlantedLink(t *testing.T) {
	base := t.TempDir()
	dirs := mkdirs(t, base, "src/sub", "dst", "victim", "state")
	src, dst, victim := filepath.Dir(dirs[0]), dirs[1], dirs[2]
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(src, "sub", "f"), []byte("v1"), 0o644))
	must(os.WriteFile(filepath.Join(victim, "f"), []byte("precious"), 0o644))
	cfg := writeConfig(t, base, job{source: src, dests: []string{dst}, extra: "    delete: mirror\n    max_delete: 100%\n"})
	mustCode(t, efssync(t, nil, "run", "--config", cfg), 0)
	must(os.RemoveAll(filepath.Join(dst, "sub")))
	must(os.Symlink(victim, filepath.Join(dst, "sub")))
	must(os.WriteFile(filepath.Join(src, "sub", "f"), []byte("v2"), 0o644))
	must(os.WriteFile(filepath.Join(src, "sub", "new"), []byte("new"), 0o644))
	efssync(t, nil, "run", "--config", cfg)
	if b, err := os.ReadFile(filepath.Join(victim, "f")); err != nil || string(b) != "precious" {
		t.Errorf("victim/f = %q, %v; a run wrote through the planted link", b, err)
	}
	if _, err := os.Stat(filepath.Join(victim, "new")); err == nil {
		t.Error("a run created a file through the planted link")
	}
}

// A destination root that is a symlink (/mnt/efs/home -> /mnt/efs-vol1/home)
// gets its mirror delete: the root is resolved once.
func TestMirrorDeleteThroughSymlinkedRoot(t *testing.T) {
	base := t.TempDir()
	dirs := mkdirs(t, base, "src", "vol1/home")
	src, real := dirs[0], dirs[1]
	link := filepath.Join(base, "home")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	for p, c := range map[string]string{filepath.Join(src, "keep"): "k", filepath.Join(real, "stale"): "s", filepath.Join(real, "keep"): "k"} {
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := writeConfig(t, base, job{source: src, dests: []string{link}, extra: "    delete: mirror\n    max_delete: 100%\n"})
	mustCode(t, efssync(t, nil, "run", "--config", cfg), 0)
	if _, err := os.Lstat(filepath.Join(real, "stale")); err == nil {
		t.Error("mirror delete through a symlinked destination root left a file the source lacks")
	}
}
