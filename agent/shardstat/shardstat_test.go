package shardstat

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/efssync/efssync/config"
)

func writeFile(t *testing.T, src, rel string, size int64) {
	t.Helper()
	p := filepath.Join(src, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil { // sparse: the walk needs sizes only
		t.Fatal(err)
	}
}

// TestCountRealTree tallies a real tree: every name that is not a
// directory once, a hard-linked inode's bytes once, excluded subtrees not
// at all; and a tree this small is planned whole, so it balances in files
// and in bytes.
func TestCountRealTree(t *testing.T) {
	src := t.TempDir()
	var files, size int64
	for i := range 100 {
		writeFile(t, src, fmt.Sprintf("d%c/f%02d.dat", 'a'+i%5, i), int64(i))
		files++
		size += int64(i)
	}
	writeFile(t, src, "skip/big.tmp", 1000)
	writeFile(t, src, "links/z-orig", 5)
	for _, l := range []string{"links/a-link", "da/m-link"} {
		if err := os.Link(filepath.Join(src, "links/z-orig"), filepath.Join(src, l)); err != nil {
			t.Fatal(err)
		}
	}
	files, size = files+3, size+5
	if err := os.Symlink("/etc", filepath.Join(src, "etc-link")); err != nil {
		t.Fatal(err)
	}
	files++

	cfg := &config.Config{Jobs: []config.Job{{Name: "j", Source: src, Exclude: []string{"skip"}}}}
	got, err := Count(t.Context(), cfg, nil, 4)
	if err != nil {
		t.Fatal(err)
	}
	var sum Share
	for _, s := range got.Shards {
		sum.Files += s.Files
		sum.Bytes += s.Bytes
		if d := math.Abs(float64(s.Files) - float64(files)/4); d > 2 {
			t.Errorf("shard %+v: files %.0f away from the mean", s, d)
		}
	}
	if sum != (Share{Files: files, Bytes: size}) {
		t.Errorf("the shards hold %+v, the tree is %d files and %d bytes", sum, files, size)
	}
	if got.Dirs != 7 { // the root, da..de and links; not skip
		t.Errorf("dirs %d, want 7", got.Dirs)
	}
	var out bytes.Buffer
	if err := got.WriteText(&out); err != nil || !strings.Contains(out.String(), "directories (listed by every shard): 7;") {
		t.Errorf("text: %v\n%s", err, out.String())
	}
	if _, err := Count(t.Context(), cfg, nil, 0); err == nil {
		t.Error("count 0 accepted")
	}
	cfg.Jobs[0].Source = filepath.Join(src, "missing")
	if _, err := Count(t.Context(), cfg, nil, 2); err == nil || !strings.Contains(err.Error(), "job j: walk "+cfg.Jobs[0].Source) {
		t.Errorf("missing source: %v", err)
	}
}

// TestCountLongTail is the "done when" on a real, sparse tree:
// 3,000 small files with log-normal sizes and six files of about 5% of
// the bytes each; `efssync shards` shows every shard within 10% of the
// mean in files and in bytes for 4 and for 8 shards.
func TestCountLongTail(t *testing.T) {
	src := t.TempDir()
	rng := rand.New(rand.NewPCG(22, 2))
	var small int64
	for i := range 3000 {
		sz := int64(math.Exp(math.Log(32<<10) + 1.2*rng.NormFloat64()))
		writeFile(t, src, fmt.Sprintf("d%02d/f%04d.dat", rng.IntN(40), i), sz)
		small += sz
	}
	for i := range 6 {
		writeFile(t, src, fmt.Sprintf("d%02d/rec%d.mov", rng.IntN(40), i), small/14) // 6/20 of the total: 5% each
	}
	cfg := &config.Config{Jobs: []config.Job{{Name: "j", Source: src}}}
	for _, n := range []int{4, 8} {
		got, err := Count(t.Context(), cfg, nil, n)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := got.WriteText(&out); err != nil {
			t.Fatal(err)
		}
		t.Logf("N=%d:\n%s", n, out.String())
		f, b := got.Worst()
		if f > 10 || b > 10 {
			t.Errorf("N=%d: files ±%.1f%%, bytes ±%.1f%% of the mean: beyond ±10%%", n, f, b)
		}
	}
}
