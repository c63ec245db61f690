package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestManPages generates the pages as the packages do and checks that each
// is titled after its own command and section, that efssync(1) has the
// sections an operator looks for, and that man finds nothing to warn about.
func TestManPages(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := writeDocs(newRoot(io.Discard, io.Discard), buildInfo{Version: "1.2.3", Date: "2026-01-02T03:04:05Z"}, dir); err != nil {
		t.Fatal(err)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, manDir, "man*", "*.[15]"))
	if len(pages) < 5 {
		t.Fatalf("only %d man pages: %v", len(pages), pages)
	}
	th := regexp.MustCompile(`(?m)^\.TH "([^"]+)" "([15])"`)
	for _, p := range pages {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(p)
		ext := filepath.Ext(name)
		want := strings.ToUpper(strings.TrimSuffix(name, ext))
		m := th.FindStringSubmatch(string(b))
		if m == nil || m[1] != want || m[2] != ext[1:] {
			t.Errorf("%s: header %q, want %s(%s)", name, m, want, ext[1:])
		}
	}
	root, err := os.ReadFile(filepath.Join(dir, manDir, "man1", "efssync.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO"} {
		if !strings.Contains(string(root), "\n.SH "+s+"\n") {
			t.Errorf("efssync(1) has no %s section", s)
		}
	}
	for _, e := range exitStatus {
		if !strings.Contains(string(root), ".TP\n.B "+string(rune('0'+e.code))+"\n") {
			t.Errorf("efssync(1) EXIT STATUS lacks code %d", e.code)
		}
	}
	man, err := exec.LookPath("man")
	if err != nil {
		requireCI(t, "man not found (Debian: apt-get install man-db): %v", err)
	}
	for _, p := range pages {
		cmd := exec.Command(man, "--warnings", "-l", p)
		var warnings strings.Builder
		cmd.Stdout, cmd.Stderr = io.Discard, &warnings
		cmd.Env = append(os.Environ(), "MANWIDTH=80")
		if err := cmd.Run(); err != nil || strings.TrimSpace(warnings.String()) != "" {
			t.Errorf("man --warnings -l %s: %v\n%s", filepath.Base(p), err, warnings.String())
		}
	}
}

// TestConfigPageCoversEveryKey: every key the loader has is on the page
// with a type and an example, and no example names a key that is gone.
func TestConfigPageCoversEveryKey(t *testing.T) {
	t.Parallel()
	keys := map[string]configKey{}
	for _, k := range configKeys() {
		keys[k.path] = k
		if k.typ == "" || (k.def == "" && keyExamples[k.path] == "") {
			t.Errorf("%s: type %q, default %q and no example: add one to keyExamples", k.path, k.typ, k.def)
		}
	}
	for _, want := range []string{"state_dir", "shard.count", "jobs[].source.path", "jobs[].destinations[].part_size",
		"jobs[].finished.quiet", "jobs[].source.glacier.tier", "jobs[].destinations[].bucket"} {
		if _, ok := keys[want]; !ok {
			t.Errorf("the page lacks %s", want)
		}
	}
	for k := range keyExamples {
		if _, ok := keys[k]; !ok {
			t.Errorf("keyExamples names %s, which is not a configuration key", k)
		}
	}
	if k := keys["jobs[].destinations[].part_size"]; k.typ != "size" || k.def != "16MiB" {
		t.Errorf("part_size: %+v, want a size defaulting to 16MiB", k)
	}
}
