package report

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
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

// readLines returns the statuses of the lines in the report file at path.
func readStatuses(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l == "" {
			continue
		}
		i := strings.Index(l, `"status":"`)
		if i < 0 {
			t.Fatalf("no status in %s", l)
		}
		rest := l[i+len(`"status":"`):]
		out = append(out, rest[:strings.IndexByte(rest, '"')])
	}
	return out
}

// A run killed by SIGKILL loses at most the last second of its report:
// the started line is on disk at once, the other lines within flushEvery,
// and a closed report ends with its ended line (issue 20 #13).
func TestReportFlushedEverySecondAndFramed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "r.jsonl")
		w, err := OpenRotating(path, Rotation{}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if got := readStatuses(t, path); !slices.Equal(got, []string{"started"}) {
			t.Fatalf("right after open: %v, want the started line on disk", got)
		}
		w.Write(Line{Time: time.Now(), Job: "j", Path: "a", Status: StatusCopied})
		time.Sleep(flushEvery)
		synctest.Wait()
		if got := readStatuses(t, path); !slices.Equal(got, []string{"started", "copied"}) {
			t.Fatalf("a second after a write: %v, want the line flushed", got)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got := readStatuses(t, path); !slices.Equal(got, []string{"started", "copied", "ended"}) {
			t.Fatalf("after close: %v", got)
		}
	})
}

// Two error texts naming different invalid-UTF-8 files stay different in
// the report (issue 20 weak spot): JSON would turn both into U+FFFD.
func TestReportErrorKeepsInvalidNamesApart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.jsonl")
	w, err := OpenRotating(path, Rotation{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	w.Write(Line{Time: time.Now(), Path: "caf\xe9", Status: StatusFailed, Error: "open caf\xe9: EIO"})
	w.Write(Line{Time: time.Now(), Path: "caf\xe8", Status: StatusFailed, Error: "open caf\xe8: EIO"})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	for _, want := range []string{`open caf\\xe9: EIO`, `open caf\\xe8: EIO`, `"path_hex":"636166e9"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report lacks %s:\n%s", want, b)
		}
	}
}
