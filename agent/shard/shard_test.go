package shard

import (
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"

	"github.com/efssync/efssync/config"
)

// TestOfIsStable pins the partition: these values must never change, or a
// new version of efssync would move files between the shards of a running
// migration.
func TestOfIsStable(t *testing.T) {
	for _, tc := range []struct {
		rel  string
		want [5]int // shards among 2, 3, 4, 8 and 1000
	}{
		{"", [5]int{1, 1, 2, 5, 650}},
		{"a", [5]int{0, 0, 1, 2, 326}},
		{"a/b.txt", [5]int{0, 0, 0, 0, 60}},
		{"dir/frame_000001.exr", [5]int{0, 0, 0, 1, 174}},
		{"é/ü", [5]int{1, 2, 3, 7, 928}},
	} {
		for i, n := range []int{2, 3, 4, 8, 1000} {
			if got := Of(tc.rel, n); got != tc.want[i] {
				t.Errorf("Of(%q, %d) = %d, want %d", tc.rel, n, got, tc.want[i])
			}
		}
	}
}

// TestOfFollowsTheDocumentedFormula recomputes the shard of "" from the
// published BLAKE3 test vector of the empty input, with big integers.
func TestOfFollowsTheDocumentedFormula(t *testing.T) {
	// BLAKE3("") = af1349b9f5f9a1a6...; its first 8 bytes little-endian:
	x, _ := new(big.Int).SetString("a6a1f9f5b94913af", 16)
	for _, n := range []int{2, 3, 7, 16, 1000, 99999} {
		want := new(big.Int).Rsh(new(big.Int).Mul(x, big.NewInt(int64(n))), 64).Int64()
		if got := Of("", n); int64(got) != want {
			t.Errorf("Of(\"\", %d) = %d, want %d", n, got, want)
		}
	}
}

func TestOwns(t *testing.T) {
	rels := []string{"a", "b/c", "d/e/f.bin", "x y", "0"}
	for _, rel := range rels {
		if !Owns(config.Shard{Index: 0, Count: 1}, rel) || !Owns(config.Shard{}, rel) {
			t.Errorf("an unsharded agent does not own %q", rel)
		}
		owners := 0
		for i := range 5 {
			if Owns(config.Shard{Index: i, Count: 5}, rel) {
				owners++
			}
		}
		if owners != 1 {
			t.Errorf("%q has %d owners among 5 shards", rel, owners)
		}
	}
}

func TestLinksGroupsEveryOrder(t *testing.T) {
	names := []string{"z/last", "b/second", "a/first", "m/middle"}
	want := Group{Names: []string{"a/first", "b/second", "m/middle", "z/last"}, Owner: Of("a/first", 8)}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
		l := NewLinks(8)
		for i, n := range names {
			g, done := l.Add(7, 42, uint64(len(names)), n)
			if done != (i == len(names)-1) {
				t.Fatalf("order %v: name %d completed=%v", names, i, done)
			}
			if done && (g.Owner != want.Owner || !slices.Equal(g.Names, want.Names)) {
				t.Fatalf("order %v: got %+v, want %+v", names, g, want)
			}
		}
		if rest := l.Rest(); len(rest) != 0 {
			t.Fatalf("left over: %+v", rest)
		}
	}
}

func TestLinksRestAndSingles(t *testing.T) {
	l := NewLinks(4)
	if g, done := l.Add(1, 1, 1, "single"); !done || g.Owner != Of("single", 4) || !slices.Equal(g.Names, []string{"single"}) {
		t.Fatalf("single name: %+v %v", g, done)
	}
	// Three links, one of them outside the tree: two names are seen.
	l.Add(1, 2, 3, "y/in")
	l.Add(1, 2, 3, "x/in")
	l.Add(1, 2, 3, "x/in") // seen twice (a rescan): counts once
	// The same inode number on another device is another file.
	l.Add(2, 2, 2, "other")
	rest := l.Rest()
	if len(rest) != 2 || !slices.Equal(rest[0].Names, []string{"other"}) || !slices.Equal(rest[1].Names, []string{"x/in", "y/in"}) ||
		rest[1].Owner != Of("x/in", 4) {
		t.Fatalf("Rest = %+v", rest)
	}
	if len(l.Rest()) != 0 {
		t.Fatal("Rest twice")
	}
}

// TestLinksFromARealWalk feeds the grouping from lstat of real hard links,
// from concurrent goroutines as the walk's checkers would.
func TestLinksFromARealWalk(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"a", "b", "c"} {
		must(os.Mkdir(filepath.Join(dir, d), 0o755))
	}
	must(os.WriteFile(filepath.Join(dir, "c/orig"), []byte("x"), 0o644))
	must(os.Link(filepath.Join(dir, "c/orig"), filepath.Join(dir, "a/link1")))
	must(os.Link(filepath.Join(dir, "c/orig"), filepath.Join(dir, "b/link2")))
	must(os.WriteFile(filepath.Join(dir, "b/plain"), []byte("y"), 0o644))
	var rels []string
	must(filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			rels = append(rels, rel)
		}
		return err
	}))
	l := NewLinks(16)
	var mu sync.Mutex
	var groups []Group
	var wg sync.WaitGroup
	for _, rel := range rels {
		wg.Go(func() {
			var st syscall.Stat_t
			if err := syscall.Lstat(filepath.Join(dir, rel), &st); err != nil {
				t.Error(err)
				return
			}
			if g, done := l.Add(uint64(st.Dev), st.Ino, uint64(st.Nlink), rel); done {
				mu.Lock()
				groups = append(groups, g)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(groups) != 2 || len(l.Rest()) != 0 {
		t.Fatalf("groups %+v", groups)
	}
	for _, g := range groups {
		if len(g.Names) == 3 && (!slices.Equal(g.Names, []string{"a/link1", "b/link2", "c/orig"}) || g.Owner != Of("a/link1", 16)) {
			t.Fatalf("link group %+v", g)
		}
	}
}
