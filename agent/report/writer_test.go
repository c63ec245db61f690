package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A symlink planted where a report will be written is refused, and the
// file it points at is left as it was (issue 20, weak spot on --report).
func TestOpenRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "precious")
	if err := os.WriteFile(target, []byte("keep\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "report.jsonl")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	w, err := Open(link)
	if err == nil {
		w.Write(Line{Time: time.Now(), Status: StatusCopied})
		w.Close()
		t.Fatal("opened a report through a symlink")
	}
	if !strings.Contains(err.Error(), link) || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("error %q does not name the path and the cause", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep\n" {
		t.Errorf("target changed: %q", b)
	}
}
