package agent

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/efssync/efssync/internal/miniotest"
)

// TestRestoreFolderMarkers: a folder marker ("dir/", as consoles make for
// an empty directory) comes back as a directory, nested ones with their
// parents, without touching a directory already there; a re-run changes
// nothing; mirror keeps the empty directory; verify reports a missing one.
func TestRestoreFolderMarkers(t *testing.T) {
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "markers")
	setS3Env(t, srv)
	for key, body := range map[string]string{"p/empty/": "", "p/a/b/": "", "p/a/f": "file", "p/": ""} {
		put(t, srv, "markers", key, body)
	}
	r := restoreFixture(t, "markers", "p", srv.Endpoint, 2, "")
	r.extra = "    delete: mirror\n    max_delete: 100%\n"
	must(t, os.MkdirAll(filepath.Join(r.dests[1], "empty"), 0o700)) // the operator's: kept as it is
	sum, rep := runSummary(t, r)
	if !sum.OK() || sum.Copied != 1 || sum.Deleted != 0 {
		t.Fatalf("restore with folder markers: %+v\n%s", sum, rep)
	}
	for _, d := range r.dests {
		wantFiles(t, d, map[string]string{"a/f": "file"})
		for _, dir := range []string{"empty", "a/b"} {
			if fi, err := os.Lstat(filepath.Join(d, dir)); err != nil || !fi.IsDir() {
				t.Errorf("%s: folder marker %s/ not restored as a directory: %v", d, dir, err)
			}
		}
	}
	if fi, _ := os.Stat(filepath.Join(r.dests[1], "empty")); fi.Mode().Perm() != 0o700 {
		t.Errorf("an existing directory's mode was changed to %v", fi.Mode().Perm())
	}
	if !strings.Contains(rep, `"empty"`) || !strings.Contains(rep, `"a/b"`) {
		t.Errorf("report has no line for the folder markers:\n%s", rep)
	}
	if sum, rep := runSummary(t, r); !sum.OK() || sum.Copied != 0 || sum.Deleted != 0 {
		t.Fatalf("unchanged re-run: %+v\n%s", sum, rep)
	}

	must(t, os.Remove(filepath.Join(r.dests[0], "empty")))
	a, err := New(r.config(), Options{})
	must(t, err)
	defer a.Close()
	var out bytes.Buffer
	diffs, err := a.Verify(context.Background(), &out)
	must(t, err)
	if diffs != 1 || !strings.Contains(out.String(), "missing (folder marker)") {
		t.Fatalf("verify after removing one restored empty directory: %d differences\n%s", diffs, out.String())
	}
}
