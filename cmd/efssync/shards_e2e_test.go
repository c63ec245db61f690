package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/efssync/efssync/agent/shard"
	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/internal/faultfs"
	"github.com/efssync/efssync/internal/treetest"
)

// shardRig is one sharded migration under test: one source, one backing
// directory standing for the shared EFS file system, and per shard its own
// faultfs mount of that directory (as separate hosts each mount the file
// system), its own configuration and report. The mounts' operation counters
// tell what each shard did at the destination.
type shardRig struct {
	src, backing string
	count        int
	fs           []*faultfs.FS
	cfgs         []string
	base         string
	// owner is the shard that copies each regular file, by the partition
	// every shard computes (shard.Partition): every name of a hard-linked
	// inode has the group's.
	owner map[string]int
	// size is each regular file's size.
	size map[string]int64
	// groups are the hard-linked names, smallest first.
	groups [][]string
}

// linkGroups are the hard-link groups of the rig's source: names spread
// over directories, so their owner often differs from their paths' shards.
var linkGroups = [][]string{
	{"links/a0", "d01/sub1/a1", "d04/sub0/a2"},
	{"links/b0", "d02/sub2/b1"},
	{"links/c0", "d05/sub1/c1", "d00/sub0/c2", "d06/sub2/c3"},
	{"d03/sub0/e0", "links/e1"},
	{"links/f0", "d06/sub1/f1"},
	{"links/g0", "d00/sub2/g1"},
}

// newShardRig writes the source (400 random files in 21 directories, the
// hard-link groups, and a long tail: four recordings of about 5% of the
// bytes each) and mounts count shards' views of one backing directory.
func newShardRig(t *testing.T, count int, extra string, opts faultfs.Options) *shardRig {
	t.Helper()
	base := t.TempDir()
	dirs := mkdirs(t, base, "src", "backing")
	r := &shardRig{src: dirs[0], backing: dirs[1], base: base}
	treetest.Random(t, r.src, 14, 400, 16<<10)
	for i := range 4 {
		writeTestFile(t, filepath.Join(r.src, fmt.Sprintf("d0%d/rec%d.mov", i, i)), strings.Repeat(fmt.Sprintf("frame %d ", i), 24<<10))
	}
	for i, g := range linkGroups {
		writeTestFile(t, filepath.Join(r.src, g[0]), strings.Repeat(fmt.Sprintf("group %d\n", i), 100))
		for _, name := range g[1:] {
			if err := os.Link(filepath.Join(r.src, g[0]), filepath.Join(r.src, name)); err != nil {
				t.Fatal(err)
			}
		}
		r.groups = append(r.groups, slices.Sorted(slices.Values(g)))
	}
	r.owner, r.size = partition(t, r.src, count)
	r.mount(t, count, extra, opts)
	return r
}

// partition places the regular files of src among count shards as every
// shard does, from a walk of its own.
func partition(t *testing.T, src string, count int) (map[string]int, map[string]int64) {
	t.Helper()
	p := shard.NewPartition[string](count)
	owner, size := map[string]int{}, map[string]int64{}
	emit := func(s int, rel string) error { owner[rel] = s; return nil }
	for _, rel := range regularFiles(t, src) {
		var st syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(src, rel), &st); err != nil {
			t.Fatal(err)
		}
		e := shard.Entry{Rel: rel, Size: st.Size}
		if st.Nlink > 1 {
			e.Dev, e.Ino, e.Nlink = st.Dev, st.Ino, uint64(st.Nlink)
		}
		size[rel] = st.Size
		if err := p.Add(e, rel, emit); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Finish(emit); err != nil {
		t.Fatal(err)
	}
	return owner, size
}

// balance is each shard's files (every name) and bytes (an inode once).
func (r *shardRig) balance(files []string) []shard.Share {
	out := make([]shard.Share, r.count)
	for _, rel := range files {
		s := &out[r.owner[rel]]
		s.Files++
		if g := slices.IndexFunc(r.groups, func(g []string) bool { return slices.Contains(g, rel) }); g < 0 || r.groups[g][0] == rel {
			s.Bytes += r.size[rel]
		}
	}
	return out
}

// mount gives each of count shards its own mount and configuration.
func (r *shardRig) mount(t *testing.T, count int, extra string, opts faultfs.Options) {
	t.Helper()
	r.count, r.fs, r.cfgs = count, nil, nil
	for i := range count {
		ffs, mnt := faultfs.Mount(t, r.backing, opts)
		cfgDir := mkdirs(t, r.base, fmt.Sprintf("cfg-%d-of-%d", i, count))[0]
		r.fs = append(r.fs, ffs)
		r.cfgs = append(r.cfgs, writeConfig(t, cfgDir, job{source: r.src, dests: []string{mnt}, extra: extra}))
	}
}

// args are the arguments of shard i's run.
func (r *shardRig) args(i int) []string {
	return []string{"run", "--config", r.cfgs[i], "--shard", fmt.Sprintf("%d/%d", i, r.count),
		"--report", filepath.Join(r.base, fmt.Sprintf("report-%d-of-%d-%d.jsonl", i, r.count, time.Now().UnixNano()))}
}

// runAll runs the given shards (all when none are given) as concurrent
// processes of the built binary and requires each to exit 0. It resets the
// mounts' counters first and returns each shard's report path.
func (r *shardRig) runAll(t *testing.T, only ...int) map[int]string {
	t.Helper()
	if len(only) == 0 {
		for i := range r.count {
			only = append(only, i)
		}
	}
	for _, f := range r.fs {
		f.ResetCounts()
	}
	procs := map[int]*started{}
	reports := map[int]string{}
	for _, i := range only {
		args := r.args(i)
		reports[i] = config.ShardPath(args[len(args)-1], config.Shard{Index: i, Count: r.count})
		procs[i] = start(t, args...)
	}
	for _, i := range only {
		p := procs[i]
		<-p.done
		if p.err != nil {
			t.Fatalf("shard %d/%d: %v\nstderr:\n%s", i, r.count, p.err, p.stderr.String())
		}
	}
	return reports
}

// want counts, per shard, the files it creates (one temp file each) and the
// names it links, for the given regular files.
func (r *shardRig) want(files []string) (creates, links []int64) {
	creates, links = make([]int64, r.count), make([]int64, r.count)
	inGroup := map[string]bool{}
	for _, g := range r.groups {
		for k, name := range g {
			inGroup[name] = true
			if !slices.Contains(files, name) {
				continue
			}
			if k == 0 {
				creates[r.owner[name]]++
			} else {
				links[r.owner[name]]++
			}
		}
	}
	for _, rel := range files {
		if !inGroup[rel] {
			creates[r.owner[rel]]++
		}
	}
	return creates, links
}

// checkReports requires that each shard reported copying or linking only
// files it owns, and that together they reported every file once.
func (r *shardRig) checkReports(t *testing.T, reports map[int]string, files []string) {
	t.Helper()
	seen := map[string]int{}
	for i, p := range reports {
		for _, l := range readReport(t, p) {
			if l.Status != "copied" && l.Status != "linked" {
				continue
			}
			if o, ok := r.owner[l.Path]; !ok || o != i {
				t.Errorf("shard %d/%d published %s, owned by shard %d", i, r.count, l.Path, o)
			}
			seen[l.Path]++
		}
	}
	for _, rel := range files {
		if seen[rel] != 1 {
			t.Errorf("%s published %d times across the shards, want once", rel, seen[rel])
		}
	}
}

// allFiles lists the source's regular files.
func (r *shardRig) allFiles(t *testing.T) []string {
	return regularFiles(t, r.src)
}

// TestShardsCopyEachFileOnce: 4 shards run as separate processes into one
// destination, each through its own mount. Every file is created exactly
// once across them (the mounts' create and link counts are the owned files
// of each shard, and no shard unlinks anything), the reports name only each
// shard's own files, and the union is the source, hard links included. A
// second round copies nothing, and verify checks each shard's own files.
func TestShardsCopyEachFileOnce(t *testing.T) {
	t.Parallel()
	r := newShardRig(t, 4, "", faultfs.Options{CacheTimeout: -1})
	files := r.allFiles(t)
	reports := r.runAll(t)
	treetest.Equal(t, r.src, r.backing)
	r.checkReports(t, reports, files)
	creates, links := r.want(files)
	var total int64
	for i, f := range r.fs {
		c := f.Counts()
		t.Logf("shard %d/4: create %d link %d rename %d mkdir %d unlink %d", i, c["create"], c["link"], c["rename"], c["mkdir"], c["unlink"])
		if c["create"] != creates[i] || c["link"] != links[i] {
			t.Errorf("shard %d/4 created %d files and linked %d names, it owns %d and %d", i, c["create"], c["link"], creates[i], links[i])
		}
		if c["unlink"] != 0 || c["rmdir"] != 0 {
			t.Errorf("shard %d/4 deleted at the destination: unlink %d, rmdir %d", i, c["unlink"], c["rmdir"])
		}
		total += c["create"]
	}
	if want := int64(len(files) - countLinked(r.groups)); total != want {
		t.Errorf("%d files created across the shards, the source has %d inodes", total, want)
	}
	// Each shard copied its files, so their balance is the partition's:
	// within 10% of the mean in files and in bytes, big files included,
	// and `efssync shards` shows the same tally.
	shares := r.balance(files)
	var sum shard.Share
	for _, s := range shares {
		sum.Files += s.Files
		sum.Bytes += s.Bytes
	}
	for i, s := range shares {
		df := float64(s.Files)/(float64(sum.Files)/4) - 1
		db := float64(s.Bytes)/(float64(sum.Bytes)/4) - 1
		t.Logf("shard %d/4: %d files (%+.1f%%), %d bytes (%+.1f%%)", i, s.Files, 100*df, s.Bytes, 100*db)
		if math.Abs(df) > 0.1 || math.Abs(db) > 0.1 {
			t.Errorf("shard %d/4 holds %+.1f%% of the mean files and %+.1f%% of the mean bytes: beyond 10%%", i, 100*df, 100*db)
		}
	}
	tally := efssync(t, nil, "shards", "--config", r.cfgs[0], "--count", "4", "--json")
	mustCode(t, tally, 0)
	var got struct{ Shards []shard.Share }
	if err := json.Unmarshal([]byte(tally.stdout), &got); err != nil || !slices.Equal(got.Shards, shares) {
		t.Errorf("efssync shards shows %v (%v), the shards copied %v", got.Shards, err, shares)
	}
	r.runAll(t)
	for i, f := range r.fs {
		if c := f.Counts(); c["create"]+c["link"]+c["unlink"]+c["mkdir"]+c["rename"] != 0 {
			t.Errorf("shard %d/4 changed the destination of an unchanged tree: %v", i, c)
		}
	}
	// verify checks each shard's own files: a damaged copy is found by its
	// owner alone.
	var damaged string
	for _, rel := range files {
		if r.owner[rel] == 1 && !inAnyGroup(r.groups, rel) {
			damaged = rel
			break
		}
	}
	if err := os.WriteFile(filepath.Join(r.backing, damaged), []byte("damaged"), 0o640); err != nil {
		t.Fatal(err)
	}
	for i := range r.count {
		v := efssync(t, nil, "verify", "--config", r.cfgs[i], "--shard", fmt.Sprintf("%d/4", i))
		switch {
		case i == 1 && (v.code != 1 || !strings.Contains(v.stdout, damaged)):
			t.Errorf("verify of shard 1/4 (exit %d) did not report %s:\n%s", v.code, damaged, v.stdout)
		case i != 1 && v.code != 0:
			t.Errorf("verify of shard %d/4 exit %d, reporting another shard's file:\n%s", i, v.code, v.stdout)
		}
	}
}

// countLinked is the number of names beyond the first of every group.
func countLinked(groups [][]string) int {
	n := 0
	for _, g := range groups {
		n += len(g) - 1
	}
	return n
}

// TestShardKilledConverges: with three shards done, the fourth is killed
// in the middle of its copy. gc by the other shards touches none of its
// temp files; its own gc removes them. Re-running only that index completes
// the migration, and the other shards then find nothing to do.
func TestShardKilledConverges(t *testing.T) {
	t.Parallel()
	// Every write waits, so the killed shard is certainly mid-copy, and
	// once armed the gate holds its renames, so a copy it finished is
	// still a temp file when the signal lands.
	gate := newRenameGate(t, 5)
	r := newShardRig(t, 4, "    concurrency: 2\n", faultfs.Options{CacheTimeout: -1,
		DataWrite: 3 * time.Millisecond, MetaWrite: time.Nanosecond, Sleep: gate.sleep})
	files := r.allFiles(t)
	r.runAll(t, 0, 1, 3)
	before := len(regularFiles(t, r.backing))
	creates, _ := r.want(files)
	if creates[2] < 10 {
		t.Fatalf("shard 2 owns only %d files: too few to kill it mid-run", creates[2])
	}
	gate.armed.Store(true)
	s := start(t, r.args(2)...)
	select {
	case <-gate.held:
	case <-s.done:
		t.Fatalf("shard 2 ended (%v) before a rename was held\nstderr:\n%s", s.err, s.stderr.String())
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The killed process waits for the held renames' replies: they fail,
	// so nothing is published after the signal.
	if err := r.fs[2].FailOp("rename", syscall.EIO, -1); err != nil {
		t.Fatal(err)
	}
	gate.release()
	<-s.done
	r.fs[2].ClearFaults()
	var ee *exec.ExitError
	if !errors.As(s.err, &ee) || ee.Exited() {
		t.Fatalf("shard 2 was not killed by the signal: %v", s.err)
	}
	killed := len(regularFiles(t, r.backing)) - before
	noPartialFiles(t, r.src, r.backing)
	// gc by the other shards leaves the killed shard's temp files alone:
	// they carry its tag, not theirs.
	left := treetest.Leftovers(t, r.backing)
	if len(left) == 0 {
		t.Fatal("the killed shard left no temp file")
	}
	for _, i := range []int{0, 1, 3} {
		r.fs[i].ResetCounts()
		mustCode(t, efssync(t, nil, "gc", "--config", r.cfgs[i], "--shard", fmt.Sprintf("%d/%d", i, r.count)), 0)
		if c := r.fs[i].Counts()["unlink"]; c != 0 {
			t.Errorf("gc of shard %d/4 unlinked %d entries", i, c)
		}
	}
	if now := treetest.Leftovers(t, r.backing); !slices.Equal(now, left) {
		t.Errorf("gc of the other shards changed the killed shard's temp files: %v, then %v", left, now)
	}
	r.fs[2].ResetCounts()
	mustCode(t, efssync(t, nil, "gc", "--config", r.cfgs[2], "--shard", "2/4"), 0)
	if now := treetest.Leftovers(t, r.backing); len(now) != 0 {
		t.Errorf("gc of shard 2/4 left its temp files: %v", now)
	}
	r.runAll(t, 2)
	treetest.Equal(t, r.src, r.backing)
	if c := r.fs[2].Counts()["create"]; c < creates[2]-int64(killed) || c > creates[2] {
		t.Errorf("the re-run of shard 2 created %d files; it owns %d and %d were published before the kill", c, creates[2], killed)
	}
	t.Logf("shard 2 was killed after publishing %d of its %d files", killed, creates[2])
	r.runAll(t)
	for i, f := range r.fs {
		if c := f.Counts(); c["create"]+c["link"]+c["unlink"] != 0 {
			t.Errorf("shard %d/4 changed the destination after convergence: %v", i, c)
		}
	}
}

// renameGate holds a mount's renames, once armed and after pass of them
// went through, until released: a test kills a process while its copies
// wait to be published, on a machine of any speed.
type renameGate struct {
	armed atomic.Bool
	pass  atomic.Int64
	held  chan struct{} // closed when the first rename is held
	open  chan struct{} // closed by release
	hold  sync.Once
	rel   sync.Once
}

func newRenameGate(t *testing.T, pass int64) *renameGate {
	g := &renameGate{held: make(chan struct{}), open: make(chan struct{})}
	g.pass.Store(pass)
	t.Cleanup(g.release) // a failed test never leaves a request waiting
	return g
}

func (g *renameGate) release() { g.rel.Do(func() { close(g.open) }) }

// sleep is the mount's Sleep hook: other operations sleep their delay.
func (g *renameGate) sleep(_ context.Context, op string, d time.Duration) {
	if op != "rename" || !g.armed.Load() {
		time.Sleep(d)
		return
	}
	if g.pass.Add(-1) >= 0 {
		return
	}
	g.hold.Do(func() { close(g.held) })
	<-g.open // not the request's context: the kill must not let it through
}

// TestShardsMirrorDelete: files and a directory removed from the source are
// removed at the destination by exactly the shards that own them, and
// nothing else goes.
func TestShardsMirrorDelete(t *testing.T) {
	t.Parallel()
	r := newShardRig(t, 4, "    delete: mirror\n    max_delete: \"20%\"\n", faultfs.Options{CacheTimeout: -1})
	r.runAll(t)
	var gone []string
	for _, rel := range []string{"d00/sub0/f00000.bin", "d01/sub1/f00001.bin", "d02/sub2/f00002.bin", "d03/sub0/f00003.bin",
		"d04/sub1/f00004.bin", "d05/sub2/f00005.bin", "d06/sub0/f00006.bin", "d00/sub1/f00007.bin"} {
		gone = append(gone, rel)
	}
	removedDir := "d06/sub2"
	for _, rel := range r.allFiles(t) {
		if strings.HasPrefix(rel, removedDir+"/") && !inAnyGroup(r.groups, rel) {
			gone = append(gone, rel)
		}
	}
	for _, rel := range gone {
		if err := os.Remove(filepath.Join(r.src, rel)); err != nil {
			t.Fatal(err)
		}
	}
	// The directory goes with a hard-link name inside it (c3): that name's
	// path shard deletes it, the group's owner forgets its record.
	if err := os.RemoveAll(filepath.Join(r.src, removedDir)); err != nil {
		t.Fatal(err)
	}
	gone = append(gone, "d06/sub2/c3")
	unlinks := make([]int64, r.count)
	for _, rel := range gone {
		unlinks[shard.Of(rel, r.count)]++
	}
	r.runAll(t)
	got, rmdirs := make([]int64, r.count), make([]int64, r.count)
	r.countInto(got, rmdirs)
	// The directory's shard may have found other shards' files still in it
	// (a failed rmdir, counted too): the next round removes it.
	r.runAll(t)
	r.countInto(got, rmdirs)
	treetest.Equal(t, r.src, r.backing)
	if extra := extraPaths(t, r.src, r.backing); len(extra) > 0 {
		t.Errorf("left at the destination after the mirror delete: %v", extra)
	}
	for i := range r.count {
		if got[i] != unlinks[i] {
			t.Errorf("shard %d/4 unlinked %d files, it owns %d of the deleted ones", i, got[i], unlinks[i])
		}
	}
	for i, n := range rmdirs {
		if (n > 0) != (i == shard.Of(removedDir, r.count)) {
			t.Errorf("shard %d/4 made %d rmdir calls; %s is shard %d's", i, n, removedDir, shard.Of(removedDir, r.count))
		}
	}
}

// countInto adds each mount's unlink and rmdir calls to unlinks and rmdirs.
func (r *shardRig) countInto(unlinks, rmdirs []int64) {
	for i, f := range r.fs {
		c := f.Counts()
		unlinks[i] += c["unlink"]
		rmdirs[i] += c["rmdir"]
	}
}

func inAnyGroup(groups [][]string, rel string) bool {
	for _, g := range groups {
		if slices.Contains(g, rel) {
			return true
		}
	}
	return false
}

// extraPaths lists what dst has and src lacks.
func extraPaths(t *testing.T, src, dst string) []string {
	t.Helper()
	a := treetest.Snapshot(t, src, nil)
	var out []string
	for rel := range treetest.Snapshot(t, dst, nil) {
		if _, ok := a[rel]; !ok {
			out = append(out, rel)
		}
	}
	slices.Sort(out)
	return out
}

// TestShardsPlanChangeAdopts: a recording that doubles between two rounds
// changes the plan, so unchanged files move to other shards. Their new
// shards adopt them (a stat, no copy) and the old ones leave them alone:
// the second round creates one file, the changed one, and deletes nothing.
func TestShardsPlanChangeAdopts(t *testing.T) {
	t.Parallel()
	r := newShardRig(t, 4, "    delete: mirror\n", faultfs.Options{CacheTimeout: -1})
	r.runAll(t)
	rec := filepath.Join(r.src, "d00/rec0.mov")
	f, err := os.OpenFile(rec, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(strings.Repeat("more ", 40<<10)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	before := r.owner
	r.owner, r.size = partition(t, r.src, 4)
	moved := 0
	for rel, s := range r.owner {
		if before[rel] != s && rel != "d00/rec0.mov" {
			moved++
		}
	}
	if moved == 0 {
		t.Fatal("the change moved no unchanged file to another shard: the test shows nothing")
	}
	r.runAll(t)
	treetest.Equal(t, r.src, r.backing)
	var creates, removed int64
	for _, f := range r.fs {
		c := f.Counts()
		creates += c["create"] + c["link"]
		removed += c["unlink"] + c["rmdir"]
	}
	t.Logf("%d unchanged files moved to another shard", moved)
	if creates != 1 || removed != 0 {
		t.Errorf("the second round created or linked %d entries and deleted %d; want 1 (the changed recording) and 0", creates, removed)
	}
}

// TestReshardCopiesNothing: a migration done by 4 shards, run again by 8,
// ends with the destination equal to the source, and copies nothing: the 8
// shards' manifests are new and empty, and adoption (adopt: true, the
// default) takes over the entries already in place.
func TestReshardCopiesNothing(t *testing.T) {
	t.Parallel()
	r := newShardRig(t, 4, "", faultfs.Options{CacheTimeout: -1})
	r.runAll(t)
	r.mount(t, 8, "", faultfs.Options{CacheTimeout: -1})
	r.runAll(t)
	treetest.Equal(t, r.src, r.backing)
	var changed int64
	for _, f := range r.fs {
		c := f.Counts()
		changed += c["create"] + c["link"] + c["unlink"]
	}
	if changed != 0 {
		t.Errorf("the 8 shards created, linked or unlinked %d entries the 4 had completed", changed)
	}
}
