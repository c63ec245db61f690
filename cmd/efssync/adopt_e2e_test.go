package main

// End-to-end tests of taking over and repairing replicas: adoption of a
// tree rsync seeded, verify --repair, run --check-dest, and a dry run of a
// watch job.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/efssync/efssync/internal/treetest"
)

func rsyncSeed(t *testing.T, src, dst string) {
	t.Helper()
	rsync, err := exec.LookPath("rsync")
	if err != nil {
		requireCI(t, "rsync not installed: %v", err)
		t.Skip("rsync not installed")
	}
	if out, err := exec.Command(rsync, "-a", src+"/", dst+"/").CombinedOutput(); err != nil {
		t.Fatalf("rsync -a: %v\n%s", err, out)
	}
}

// A replica seeded by rsync -a is adopted: nothing is sent, every file is
// recorded, and the next run finds everything unchanged.
func TestAdoptRsyncSeededReplica(t *testing.T) {
	t.Parallel()
	dirs := mkdirs(t, t.TempDir(), "src", "dst", "cfg")
	src, dst, cfgDir := dirs[0], dirs[1], dirs[2]
	rels := treetest.Random(t, src, 7, 150, 4<<10)
	rsyncSeed(t, src, dst)
	writeTestFile(t, filepath.Join(src, "after-rsync.txt"), "new since the seed")
	cfg := writeConfig(t, cfgDir, job{source: src, dests: []string{dst}})

	r := efssync(t, nil, "run", "--config", cfg, "--dry-run")
	mustCode(t, r, 0)
	if n := strings.Count(r.stdout, "\tadopt\t"); n < len(rels) {
		t.Errorf("dry run plans %d adoptions, want %d:\n%s", n, len(rels), r.stdout)
	}
	rep := filepath.Join(cfgDir, "adopt.jsonl")
	r = efssync(t, nil, "run", "--config", cfg, "--report", rep)
	mustCode(t, r, 0)
	sum := finished(t, r.stderr)
	if a, c := num(t, sum, "adopted"), num(t, sum, "copied"); a != int64(len(rels)) || c != 1 {
		t.Errorf("adopting run: adopted %d, copied %d; want %d and 1", a, c, len(rels))
	}
	if b := num(t, sum, "bytes"); b != int64(len("new since the seed")) {
		t.Errorf("adopting run sent %d bytes, want only the new file's", b)
	}
	adopted := 0
	for _, l := range readReport(t, rep) {
		if l.Status == "adopted" {
			adopted++
		}
	}
	if adopted < len(rels) {
		t.Errorf("report lists %d adopted entries, want at least %d", adopted, len(rels))
	}
	treetest.Equal(t, src, dst)
	r = efssync(t, nil, "run", "--config", cfg)
	mustCode(t, r, 0)
	if sum := finished(t, r.stderr); num(t, sum, "copied") != 0 || num(t, sum, "adopted") != 0 {
		t.Errorf("run after adoption: %v", sum)
	}
	mustCode(t, efssync(t, nil, "verify", "--config", cfg), 0)
}

// Drift behind efssync's back: run keeps saying unchanged, verify reports
// it, verify --repair fixes it (exit 0), and run --check-dest finds it too.
func TestVerifyRepairAndCheckDest(t *testing.T) {
	t.Parallel()
	dirs := mkdirs(t, t.TempDir(), "src", "dst", "cfg")
	src, dst, cfgDir := dirs[0], dirs[1], dirs[2]
	treetest.Write(t, src, map[string]string{"a.txt": "alpha", "sub/b.txt": "bravo", "sub/c.txt": "charlie"})
	cfg := writeConfig(t, cfgDir, job{source: src, dests: []string{dst}})
	mustCode(t, efssync(t, nil, "run", "--config", cfg), 0)

	drift := func() {
		if err := os.Remove(filepath.Join(dst, "sub", "b.txt")); err != nil {
			t.Fatal(err)
		}
		writeTestFile(t, filepath.Join(dst, "a.txt"), "changed behind efssync's back")
	}
	drift()
	r := efssync(t, nil, "run", "--config", cfg)
	mustCode(t, r, 0)
	if c := num(t, finished(t, r.stderr), "copied"); c != 0 {
		t.Fatalf("default run copied %d: it must not stat the destination", c)
	}
	r = efssync(t, nil, "verify", "--config", cfg)
	mustCode(t, r, 1)
	r = efssync(t, nil, "verify", "--config", cfg, "--repair")
	mustCode(t, r, 0)
	if strings.Count(r.stdout, "\trepaired") != 2 {
		t.Errorf("verify --repair output:\n%s", r.stdout)
	}
	treetest.Equal(t, src, dst)
	mustCode(t, efssync(t, nil, "verify", "--config", cfg), 0)

	drift()
	r = efssync(t, nil, "run", "--config", cfg, "--check-dest")
	mustCode(t, r, 0)
	if c := num(t, finished(t, r.stderr), "copied"); c != 2 {
		t.Errorf("run --check-dest copied %d, want 2\n%s", c, r.stderr)
	}
	treetest.Equal(t, src, dst)
}

// A dry run of a watch job plans one pass and exits.
func TestDryRunOfWatchJobExits(t *testing.T) {
	t.Parallel()
	dirs := mkdirs(t, t.TempDir(), "src", "dst", "cfg")
	src, dst, cfgDir := dirs[0], dirs[1], dirs[2]
	writeTestFile(t, filepath.Join(src, "seg.ts"), "segment")
	cfg := writeConfig(t, cfgDir, job{source: src, dests: []string{dst}, extra: "    mode: watch\n"})
	r := efssync(t, nil, "run", "--config", cfg, "--dry-run")
	mustCode(t, r, 0)
	if !strings.Contains(r.stdout, `"seg.ts"`) {
		t.Errorf("dry run of a watch job does not plan seg.ts:\n%s", r.stdout)
	}
	if ents, _ := os.ReadDir(dst); len(ents) != 0 {
		t.Errorf("dry run wrote to the destination: %v", ents)
	}
}
