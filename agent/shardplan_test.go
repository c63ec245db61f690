package agent

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/efssync/efssync/agent/shard"
	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/internal/treetest"
)

// shardConfig is the fixture's configuration as shard i of n, with the
// shard's own manifest, as cmd resolves it.
func (f *fixture) shardConfig(i, n int) *config.Config {
	f.t.Helper()
	cfg := f.config()
	s := config.Shard{Index: i, Count: n}
	cfg.Shard = config.ShardSetting{Index: &s.Index, Count: n}
	cfg.Manifest = config.ShardManifestPath(cfg.Manifest, s)
	return cfg
}

// runShard runs the fixture's job as shard i of n.
func (f *fixture) runShard(i, n int) *Summary {
	f.t.Helper()
	a, err := New(f.shardConfig(i, n), Options{})
	must(f.t, err)
	defer a.Close()
	sum, err := a.Run(context.Background())
	must(f.t, err)
	return sum
}

// TestShardedHardLinks: the names of a hard-linked inode are copied once,
// by the shard of the smallest name, and linked there, also when one name
// hashes to another shard, and when one name is excluded (its group is
// completed after the walk). Three shards in turn
// into one destination give every file once.
func TestShardedHardLinks(t *testing.T) {
	f := newFixture(t, 1)
	f.extra = "    exclude: [\"skip/**\"]\n"
	rels := treetest.Random(t, f.src, 3, 60, 1024)
	treetest.Write(t, f.src, map[string]string{"keep/a": "one", "keep/c": "two"})
	must(t, os.MkdirAll(filepath.Join(f.src, "z"), 0o755))
	must(t, os.Link(filepath.Join(f.src, "keep/a"), filepath.Join(f.src, "z/b")))
	if shard.Of("keep/a", 3) == shard.Of("z/b", 3) {
		t.Fatal("the test wants the names of keep/a in different shards")
	}
	must(t, os.MkdirAll(filepath.Join(f.src, "skip"), 0o755))
	must(t, os.Link(filepath.Join(f.src, "keep/c"), filepath.Join(f.src, "skip/d")))
	var copied, links int64
	for i := range 3 {
		sum := f.runShard(i, 3)
		if !sum.OK() {
			t.Fatalf("shard %d/3: %+v", i, sum)
		}
		copied += sum.Copied
		links += sum.Links
	}
	// 60 files, keep/a and its link z/b, and keep/c whose other name is
	// excluded (a link counts in copied too, as unsharded).
	if copied != int64(len(rels))+3 || links != 1 {
		t.Errorf("the shards copied %d files and linked %d names, want %d and 1", copied, links, len(rels)+3)
	}
	dst := f.dests[0]
	ino := func(rel string) uint64 {
		var st syscall.Stat_t
		must(t, syscall.Lstat(filepath.Join(dst, rel), &st))
		return st.Ino
	}
	if ino("keep/a") != ino("z/b") {
		t.Error("keep/a and z/b are not one inode at the destination")
	}
	if _, err := os.Lstat(filepath.Join(dst, "skip", "d")); err == nil {
		t.Error("the excluded name skip/d was published")
	}
	for _, rel := range append(rels, "keep/c") {
		if _, err := os.Stat(filepath.Join(dst, rel)); err != nil {
			t.Errorf("%s: %v", rel, err)
		}
	}
	// A second round is a no-op in every shard.
	for i := range 3 {
		if sum := f.runShard(i, 3); sum.Copied+sum.Links != 0 {
			t.Errorf("shard %d/3 again: copied %d, linked %d", i, sum.Copied, sum.Links)
		}
	}
}
