package agent

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/efssync/efssync/internal/treetest"
)

// FIFOs, sockets and files named like efssync's temp files are reported
// as unsupported, not as skipped (unchanged), and counted in the summary;
// the destination does not get them (issue 11, weak spots).
func TestUnsupportedEntriesAreReported(t *testing.T) {
	f := newFixture(t, 1)
	treetest.Write(t, f.src, map[string]string{"file": "x", "d/.efssync-tmp-0123456789abcdef": "looks like ours"})
	must(t, unix.Mkfifo(filepath.Join(f.src, "fifo"), 0o644))
	l, err := net.Listen("unix", filepath.Join(f.src, "sock"))
	must(t, err)
	defer l.Close()
	sum := f.run(Options{})
	if !sum.OK() || sum.Unsupported != 3 || sum.Skipped != 0 || sum.Copied != 1 {
		t.Fatalf("summary %+v: want 3 unsupported, 1 copied, none skipped", sum)
	}
	got := map[string]string{}
	rf, err := os.Open(sum.ReportPath)
	must(t, err)
	defer rf.Close()
	sc := bufio.NewScanner(rf)
	for sc.Scan() {
		var line Line
		must(t, json.Unmarshal(sc.Bytes(), &line))
		got[line.Path] = string(line.Status)
	}
	for _, rel := range []string{"fifo", "sock", "d/.efssync-tmp-0123456789abcdef"} {
		if got[rel] != string(StatusUnsupported) {
			t.Errorf("%s reported %q, want unsupported", rel, got[rel])
		}
		if _, err := os.Lstat(filepath.Join(f.dests[0], rel)); err == nil {
			t.Errorf("%s reached the destination", rel)
		}
	}
}
