package agent

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/efssync/efssync/internal/treetest"
	"github.com/efssync/efssync/manifest"
	"github.com/efssync/efssync/transfer/count"
)

// seed copies src into dst the way an operator's earlier tool did: cp -a
// keeps modes and mtimes to the nanosecond.
func seed(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", src+"/.", dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v\n%s", err, out)
	}
}

func (c *counted) all() count.Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	var sum count.Counts
	for _, d := range c.dests {
		s := d.Snapshot()
		sum.Begin += s.Begin
		sum.WriteBytes += s.WriteBytes
		sum.Commit += s.Commit
		sum.Mkdir += s.Mkdir
		sum.Stat += s.Stat
	}
	return sum
}

func records(t *testing.T, f *fixture) map[string]manifest.Record {
	t.Helper()
	db, err := manifest.Open(f.config().Manifest)
	must(t, err)
	defer db.Close()
	out := map[string]manifest.Record{}
	must(t, db.Walk("job", func(rel string, r manifest.Record) error { out[rel] = r; return nil }))
	return out
}

func TestAdoptSeededReplicaPublishesNothing(t *testing.T) {
	f := newFixture(t, 2)
	rels := treetest.Random(t, f.src, 3, 120, 8<<10)
	seed(t, f.src, f.dests[0])
	seed(t, f.src, f.dests[1])
	// One file differs at the second destination: it alone is sent there.
	must(t, os.WriteFile(filepath.Join(f.dests[1], rels[5]), []byte("stale"), 0o640))

	var c counted
	sum := f.run(Options{WrapDest: c.wrap})
	got := c.all()
	if !sum.OK() || sum.Adopted != 119 || sum.Copied != 1 || sum.Opened != 1 {
		t.Fatalf("adopting run: %+v", sum)
	}
	if got.Begin != 1 || got.Commit != 1 || got.Mkdir != 0 {
		t.Fatalf("adopting run published more than the one stale file: %+v", got)
	}
	for _, d := range f.dests {
		treetest.Equal(t, f.src, d)
	}
	recs := records(t, f)
	for _, rel := range rels {
		if r, ok := recs[rel]; !ok || len(r.Dests) != 2 {
			t.Fatalf("%s not recorded at both destinations: %+v", rel, r)
		}
	}

	c = counted{}
	sum = f.run(Options{WrapDest: c.wrap})
	if sum.Copied != 0 || sum.Adopted != 0 || sum.Opened != 0 || sum.Skipped != 120 || c.all().Stat != 0 {
		t.Fatalf("run after adoption: %+v, %+v", sum, c.all())
	}
}

func TestAdoptAfterManifestMovedAside(t *testing.T) {
	f := newFixture(t, 1)
	treetest.Random(t, f.src, 4, 40, 4<<10)
	treetest.Write(t, f.src, map[string]string{"top.txt": "top"})
	if sum := f.run(Options{}); sum.Copied != 41 {
		t.Fatalf("first run: %+v", sum)
	}
	m := f.config().Manifest
	must(t, os.Rename(m, m+".damaged"))
	var c counted
	sum := f.run(Options{WrapDest: c.wrap})
	if !sum.OK() || sum.Adopted != 41 || sum.Copied != 0 || c.all().WriteBytes != 0 || c.all().Mkdir != 0 {
		t.Fatalf("run with the manifest moved aside: %+v, %+v", sum, c.all())
	}
}

func TestAdoptVerifyHashesBothSides(t *testing.T) {
	f := newFixture(t, 1)
	f.extra = "    adopt: verify\n"
	treetest.Write(t, f.src, map[string]string{"same": "hello", "forged": "world"})
	seed(t, f.src, f.dests[0])
	// Same size and mtime, other bytes: only a hash tells.
	p := filepath.Join(f.dests[0], "forged")
	fi, err := os.Stat(p)
	must(t, err)
	must(t, os.WriteFile(p, []byte("WORLD"), 0o644))
	must(t, os.Chtimes(p, fi.ModTime(), fi.ModTime()))

	sum := f.run(Options{})
	if !sum.OK() || sum.Adopted != 1 || sum.Copied != 1 {
		t.Fatalf("adopt: verify: %+v", sum)
	}
	treetest.Equal(t, f.src, f.dests[0])
	if r := records(t, f)["same"]; r.Hash == ([32]byte{}) {
		t.Fatal("adopt: verify recorded no hash for the adopted file")
	}
}

func TestAdoptStatTrustsSizeAndMTime(t *testing.T) {
	f := newFixture(t, 1)
	treetest.Write(t, f.src, map[string]string{"a": "hello"})
	seed(t, f.src, f.dests[0])
	p := filepath.Join(f.dests[0], "a")
	must(t, os.WriteFile(p, []byte("HELLO"), 0o644))
	old := time.Now().Add(-time.Hour)
	must(t, os.Chtimes(filepath.Join(f.src, "a"), old, old))
	must(t, os.Chtimes(p, old.Truncate(time.Second), old.Truncate(time.Second)))
	// A destination keeping whole seconds still matches, like rsync's quick check.
	if sum := f.run(Options{}); sum.Adopted != 1 || sum.Copied != 0 {
		t.Fatalf("adopt: true: %+v", sum)
	}
}

func TestAdoptOffCopiesEverything(t *testing.T) {
	f := newFixture(t, 1)
	f.extra = "    adopt: false\n"
	treetest.Random(t, f.src, 5, 30, 1<<10)
	seed(t, f.src, f.dests[0])
	var c counted
	sum := f.run(Options{WrapDest: c.wrap})
	if sum.Adopted != 0 || sum.Copied != 30 || c.all().Stat != 0 {
		t.Fatalf("adopt: false: %+v, %+v", sum, c.all())
	}
}

func TestFirstCopyStatsDirectoriesNotFiles(t *testing.T) {
	f := newFixture(t, 1)
	treetest.Random(t, f.src, 6, 60, 1<<10)
	var c counted
	sum := f.run(Options{WrapDest: c.wrap})
	if !sum.OK() || sum.Copied != 60 {
		t.Fatalf("first copy: %+v", sum)
	}
	// The root and the 7+21 directories of treetest.Random are probed once
	// each (the deeper ones are known missing from their parent); no file is.
	if st := c.all().Stat; st > 8 {
		t.Fatalf("first copy into an empty destination made %d stats", st)
	}
}

func TestCheckDestinationRepairsDrift(t *testing.T) {
	f := newFixture(t, 1)
	treetest.Write(t, f.src, map[string]string{"a": "aaaa", "b/c": "cccc", "d": "dddd"})
	f.run(Options{})
	must(t, os.Remove(filepath.Join(f.dests[0], "a")))
	must(t, os.WriteFile(filepath.Join(f.dests[0], "b", "c"), []byte("changed behind our back"), 0o644))

	var c counted
	sum := f.run(Options{WrapDest: c.wrap})
	if sum.Copied != 0 || c.all().Stat != 0 {
		t.Fatalf("default run touched the destination: %+v, %+v", sum, c.all())
	}
	f.extra = "    check_destination: true\n"
	sum = f.run(Options{})
	if !sum.OK() || sum.Copied != 2 || sum.Skipped != 1 {
		t.Fatalf("check_destination run: %+v", sum)
	}
	treetest.Equal(t, f.src, f.dests[0])
	if sum = f.run(Options{}); sum.Copied != 0 || sum.Skipped != 3 {
		t.Fatalf("after repair: %+v", sum)
	}
}

func TestRepairResendsWhatVerifyFinds(t *testing.T) {
	f := newFixture(t, 2)
	treetest.Write(t, f.src, map[string]string{"a": "aaaa", "b/c": "cccc", "b/d": "dddd", "e": "eeee"})
	f.run(Options{})
	must(t, os.RemoveAll(filepath.Join(f.dests[0], "b")))
	must(t, os.WriteFile(filepath.Join(f.dests[1], "a"), []byte("drifted"), 0o644))

	a, err := New(f.config(), Options{})
	must(t, err)
	var out strings.Builder
	left, err := a.Repair(context.Background(), &out)
	must(t, err)
	a.Close()
	if left != 0 {
		t.Fatalf("%d differences left:\n%s", left, out.String())
	}
	for _, want := range []string{"\"b/c\"\tmissing", "\"b/c\"\trepaired", "\"a\"\trepaired"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("repair output lacks %q:\n%s", want, out.String())
		}
	}
	for _, d := range f.dests {
		treetest.Equal(t, f.src, d)
	}
	a, err = New(f.config(), Options{})
	must(t, err)
	defer a.Close()
	var again strings.Builder
	if n, err := a.Verify(context.Background(), &again); err != nil || n != 0 {
		t.Fatalf("verify after repair: %d, %v\n%s", n, err, again.String())
	}
}

func TestAdoptLeavesOtherPermissionsToACopy(t *testing.T) {
	f := newFixture(t, 1)
	treetest.Write(t, f.src, map[string]string{"a": "hello", "b": "world"})
	seed(t, f.src, f.dests[0])
	must(t, os.Chmod(filepath.Join(f.dests[0], "a"), 0o600))
	if sum := f.run(Options{}); !sum.OK() || sum.Adopted != 1 || sum.Copied != 1 {
		t.Fatalf("run: %+v", sum)
	}
	treetest.Equal(t, f.src, f.dests[0])
}
