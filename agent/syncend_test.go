package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/efssync/efssync/internal/treetest"
)

// openUnder lists this process's descriptors that lead below dir.
func openUnder(t *testing.T, dir string) []string {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	must(t, err)
	var out []string
	for _, fd := range fds {
		p, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && (p == dir || strings.HasPrefix(p, dir+"/")) {
			out = append(out, p)
		}
	}
	return out
}

// A run whose only copy failed still syncs its fs destinations at the
// end, which releases every directory descriptor fsdest cached: nothing
// keeps the mount busy after the run (issue 11 wiring).
func TestFailedRunReleasesTheDestination(t *testing.T) {
	f := newFixture(t, 1)
	treetest.Write(t, f.src, map[string]string{"x": "a file at the source"})
	// A directory where the source has a file, unknown to the manifest:
	// the publish fails.
	treetest.Write(t, f.dests[0], map[string]string{"x/inside": "a directory at the destination"})
	sum := f.run(Options{})
	if sum.Failed != 1 {
		t.Fatalf("want the copy to fail: %+v", sum)
	}
	if open := openUnder(t, f.dests[0]); len(open) > 0 {
		t.Fatalf("descriptors still open below the destination after the run: %v", open)
	}
}
