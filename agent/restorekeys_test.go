package agent

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/efssync/efssync/internal/miniotest"
)

// reportStatuses reads a run's report: each path's status.
func reportStatuses(t *testing.T, report string) map[string]string {
	t.Helper()
	got := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(report))
	for sc.Scan() {
		var line Line
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Path != "" {
			got[line.Path] = string(line.Status)
		}
	}
	return got
}

// TestRestoreListsKeysWithControlCharacters: a key holding a control
// character cannot travel in a listing's XML; listed URL-encoded, it and
// the 20 other objects are all restored, and keys with "+", "%" and spaces
// keep their names (issue 20 #12).
func TestRestoreListsKeysWithControlCharacters(t *testing.T) {
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "ctl")
	setS3Env(t, srv)
	want := map[string]string{}
	for i := range 18 {
		want[fmt.Sprintf("f%02d.txt", i)] = fmt.Sprint(i)
	}
	want["bell\x07.txt"] = "control"
	want["a+b c%41.txt"] = "encoded"
	want["sub/\x01x"] = "control in a directory"
	for rel, body := range want {
		put(t, srv, "ctl", "r/"+rel, body)
	}
	r := restoreFixture(t, "ctl", "r/", srv.Endpoint, 1, "")
	s, rep := runSummary(t, r)
	if !s.OK() || s.Copied != int64(len(want)) {
		t.Fatalf("summary %+v: want %d copied\n%s", s, len(want), rep)
	}
	wantFiles(t, r.dests[0], want)
}
