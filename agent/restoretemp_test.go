package agent

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/efssync/efssync/internal/miniotest"
)

// TestRestoreLeavesOutTempNamedKeys: keys named like efssync's own temp
// files (of any agent's tag, kept part files too) are reported as
// unsupported and never restored, as the walk does for such source files;
// restored, the next crash cleanup would remove them while the manifest
// claimed them (issue 20 #10).
func TestRestoreLeavesOutTempNamedKeys(t *testing.T) {
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "tmpkeys")
	setS3Env(t, srv)
	reserved := []string{
		".efssync-tmp-0123456789abcdef",
		"d/.efssync-tmp-t1-0123456789abcdef",
		"d/.efssync-part-0ther000-fedcba9876543210",
	}
	for _, rel := range reserved {
		put(t, srv, "tmpkeys", "r/"+rel, "looks like ours")
	}
	put(t, srv, "tmpkeys", "r/d/keep.txt", "kept")
	put(t, srv, "tmpkeys", "r/.efssync-tmp-notes.txt", "an ordinary name")
	r := restoreFixture(t, "tmpkeys", "r/", srv.Endpoint, 1, "")
	s, rep := runSummary(t, r)
	if !s.OK() || s.Unsupported != int64(len(reserved)) || s.Copied != 2 {
		t.Fatalf("summary %+v: want %d unsupported, 2 copied\n%s", s, len(reserved), rep)
	}
	got := reportStatuses(t, rep)
	for _, rel := range reserved {
		if got[rel] != string(StatusUnsupported) {
			t.Errorf("%s reported %q, want unsupported", rel, got[rel])
		}
		if _, err := os.Lstat(filepath.Join(r.dests[0], rel)); err == nil {
			t.Errorf("%s was restored", rel)
		}
	}
	wantFiles(t, r.dests[0], map[string]string{"d/keep.txt": "kept", ".efssync-tmp-notes.txt": "an ordinary name"})
}
