package agent

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/efssync/efssync/internal/treetest"
)

// ownerOf is the owner of path as lstat sees it.
func ownerOf(t *testing.T, path string) (int, int) {
	t.Helper()
	fi, err := os.Lstat(path)
	must(t, err)
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid)
}

// A directory's owner change is replicated like its mode change, and
// verify reports a destination directory or file whose owner differs. The
// agent sets owners only as root.
func TestDirectoryOwnerChangeIsReplicatedAndVerified(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("owners are set only as root")
	}
	f := newFixture(t, 1)
	treetest.Write(t, f.src, map[string]string{"d/f": "x", "d/sub/g": "y"})
	if sum := f.run(Options{}); !sum.OK() {
		t.Fatalf("first run: %+v", sum)
	}
	for _, rel := range []string{"d", "d/sub"} {
		must(t, os.Lchown(filepath.Join(f.src, rel), 1234, 4321))
	}
	if sum := f.run(Options{}); !sum.OK() {
		t.Fatalf("run after chown: %+v", sum)
	}
	for _, rel := range []string{"d", "d/sub"} {
		if uid, gid := ownerOf(t, filepath.Join(f.dests[0], rel)); uid != 1234 || gid != 4321 {
			t.Errorf("%s: owner %d:%d at the destination, want 1234:4321", rel, uid, gid)
		}
	}
	for _, rel := range []string{"d/sub", "d/f"} {
		must(t, os.Lchown(filepath.Join(f.dests[0], rel), 99, 99))
	}
	a, err := New(f.config(), Options{})
	must(t, err)
	defer a.Close()
	var out bytes.Buffer
	n, err := a.Verify(context.Background(), &out)
	if err != nil || n != 2 || !strings.Contains(out.String(), `"d/sub"`) || !strings.Contains(out.String(), `"d/f"`) {
		t.Errorf("verify: %d differences, %v, want d/sub and d/f by owner:\n%s", n, err, out.String())
	}
}
