package agent

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// verify notices a symlink whose target changed, at the destination or at
// the source, and is silent when the targets agree (issue 11, weak spots).
func TestVerifyNoticesChangedSymlinkTarget(t *testing.T) {
	f := newFixture(t, 1)
	must(t, os.Symlink("target-one", filepath.Join(f.src, "link")))
	if sum := f.run(Options{}); !sum.OK() {
		t.Fatalf("run: %+v", sum)
	}
	verify := func() (int, string) {
		a, err := New(f.config(), Options{})
		must(t, err)
		defer a.Close()
		var out bytes.Buffer
		n, err := a.Verify(context.Background(), &out)
		must(t, err)
		return n, out.String()
	}
	if n, out := verify(); n != 0 {
		t.Fatalf("differences after a sync:\n%s", out)
	}
	dst := filepath.Join(f.dests[0], "link")
	must(t, os.Remove(dst))
	must(t, os.Symlink("target-two", dst))
	n, out := verify()
	if n != 1 || !strings.Contains(out, "target-two") || !strings.Contains(out, "target-one") {
		t.Fatalf("verify of a repointed link: %d differences:\n%s", n, out)
	}
}
