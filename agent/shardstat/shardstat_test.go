package shardstat

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/efssync/efssync/agent/shard"
	"github.com/efssync/efssync/config"
)

// TestCountRealTree tallies a real tree: every file once, in the shard of
// its path; a hard-linked inode's names together and its bytes once;
// excluded subtrees and symlink targets not at all.
func TestCountRealTree(t *testing.T) {
	src := t.TempDir()
	write := func(rel, body string) {
		t.Helper()
		p := filepath.Join(src, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := make([]Share, 4)
	for i := range 100 {
		rel := filepath.Join("d"+string(rune('a'+i%5)), "f"+strings.Repeat("x", i%7)+string(rune('0'+i%10))+".dat")
		if _, err := os.Stat(filepath.Join(src, rel)); err == nil {
			continue
		}
		write(rel, strings.Repeat("b", i))
		s := &want[shard.Of(filepath.ToSlash(rel), 4)]
		s.Files++
		s.Bytes += int64(i)
	}
	write("skip/big.tmp", strings.Repeat("z", 1000))
	write("links/z-orig", "12345")
	for _, l := range []string{"links/a-link", "da/m-link"} {
		if err := os.Link(filepath.Join(src, "links/z-orig"), filepath.Join(src, l)); err != nil {
			t.Fatal(err)
		}
	}
	owner := &want[shard.Of("da/m-link", 4)] // the smallest of the three names
	owner.Files += 3
	owner.Bytes += 5
	if err := os.Symlink("/etc", filepath.Join(src, "etc-link")); err != nil {
		t.Fatal(err)
	}
	want[shard.Of("etc-link", 4)].Files++

	cfg := &config.Config{Jobs: []config.Job{{Name: "j", Source: src, Exclude: []string{"skip"}}}}
	got, err := Count(t.Context(), cfg, nil, 4)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got.Shards[i] != want[i] {
			t.Errorf("shard %d: %+v, want %+v", i, got.Shards[i], want[i])
		}
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
