package agent

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/efssync/efssync/internal/treetest"
)

// reportLines reads the lines of a run's report for rel.
func reportLines(t *testing.T, path, rel string) []Line {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	var out []Line
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l Line
		must(t, json.Unmarshal(sc.Bytes(), &l))
		if l.Path == rel {
			out = append(out, l)
		}
	}
	must(t, sc.Err())
	return out
}

// A destination entry of the other type is replaced by one rule in both
// directions, whatever delete says: what goes counts against max_delete,
// and the report says what was replaced. A file where the source now has
// a directory was deleted silently; a directory where the source now has
// a file was replaced within max_delete.
func TestTypeChangeIsReplacedByOneRuleAndReported(t *testing.T) {
	for _, toDir := range []bool{true, false} {
		name := "file by directory"
		if !toDir {
			name = "directory by file"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, 1)
			f.extra = "    max_delete: \"100\"\n" // delete: never, the default
			x := filepath.Join(f.src, "x")
			if toDir {
				must(t, os.WriteFile(x, []byte("a file"), 0o644))
			} else {
				treetest.Write(t, f.src, map[string]string{"x/inside": "a directory"})
			}
			if sum := f.run(Options{}); !sum.OK() {
				t.Fatalf("first run: %+v", sum)
			}
			must(t, os.RemoveAll(x))
			if toDir {
				treetest.Write(t, f.src, map[string]string{"x/inside": "a directory now"})
			} else {
				must(t, os.WriteFile(x, []byte("a file now"), 0o644))
			}
			sum := f.run(Options{})
			if !sum.OK() || sum.Deleted == 0 {
				t.Fatalf("run after the type change: %+v, want in sync with the replaced entry counted as deleted", sum)
			}
			treetest.Equal(t, f.src, f.dests[0])
			replaced := false
			for _, l := range reportLines(t, sum.ReportPath, "x") {
				replaced = replaced || l.Action == "replace" && l.Status == StatusDeleted && l.Dest != ""
			}
			if !replaced {
				t.Errorf("the report has no line saying x was replaced at the destination")
			}
		})
	}
}

// One rule in both directions: the entry in the way goes as an
// overwritten file does, and what lies below it counts against max_delete.
// With 1% of 21 files (nothing may be deleted), a file in the way of a
// directory is replaced, and a directory holding a file in the way of a
// file is not.
func TestTypeChangeCountsWhatLiesBelowAgainstMaxDelete(t *testing.T) {
	for _, toDir := range []bool{true, false} {
		t.Run(fmt.Sprint("to directory ", toDir), func(t *testing.T) {
			f := newFixture(t, 1)
			f.extra = "    max_delete: \"1%\"\n"
			files := map[string]string{}
			for i := range 20 {
				files[fmt.Sprintf("f%02d", i)] = "x"
			}
			if toDir {
				files["x"] = "a file"
			} else {
				files["x/inside"] = "a directory"
			}
			treetest.Write(t, f.src, files)
			f.run(Options{})
			x := filepath.Join(f.src, "x")
			must(t, os.RemoveAll(x))
			if toDir {
				treetest.Write(t, f.src, map[string]string{"x/inside": "new"})
			} else {
				must(t, os.WriteFile(x, []byte("new"), 0o644))
			}
			sum := f.run(Options{})
			fi, err := os.Lstat(filepath.Join(f.dests[0], "x"))
			if toDir {
				if !sum.OK() || err != nil || !fi.IsDir() {
					t.Fatalf("%+v, %v: want the file in the way replaced (nothing lies below it)", sum, err)
				}
				return
			}
			if sum.Failed == 0 || err != nil || !fi.IsDir() {
				t.Errorf("%+v, %v: want the directory kept, its content held by max_delete", sum, err)
			}
		})
	}
}
