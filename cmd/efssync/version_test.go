package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestReadBuildInfo(t *testing.T) {
	t.Parallel()
	vcs := &debug.BuildInfo{
		GoVersion: "go1.99.1",
		Main:      debug.Module{Path: "github.com/efssync/efssync", Version: "(devel)"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-11-25T21:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	installed := &debug.BuildInfo{
		GoVersion: "go1.99.2",
		Main:      debug.Module{Path: "github.com/efssync/efssync", Version: "v1.4.0"},
	}
	tests := []struct {
		name string
		l    linked
		bi   *debug.BuildInfo
		want buildInfo
	}{
		{"no build info", linked{}, nil, buildInfo{Version: "dev", Commit: "unknown", Date: "unknown", Go: runtime.Version()}},
		{"git checkout", linked{}, vcs, buildInfo{Version: "dev", Commit: "0123456789abcdef0123456789abcdef01234567",
			Modified: true, Date: "2026-11-25T21:00:00Z", Go: "go1.99.1"}},
		{"go install", linked{}, installed, buildInfo{Version: "v1.4.0", Commit: "unknown", Date: "unknown", Go: "go1.99.2"}},
		{"release build", linked{version: "1.5.0", commit: "fedcba", date: "2026-12-01T10:00:00Z"}, vcs,
			buildInfo{Version: "1.5.0", Commit: "fedcba", Modified: true, Date: "2026-12-01T10:00:00Z", Go: "go1.99.1"}},
	}
	for _, tc := range tests {
		got := readBuildInfo(tc.l, tc.bi)
		tc.want.Platform = runtime.GOOS + "/" + runtime.GOARCH
		if got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestBuildInfoString(t *testing.T) {
	t.Parallel()
	b := buildInfo{Version: "1.5.0", Commit: "fedcba", Modified: true, Date: "2026-12-01T10:00:00Z", Go: "go1.99.1", Platform: "linux/arm64"}
	want := "efssync 1.5.0\ncommit: fedcba (modified)\ndate:   2026-12-01T10:00:00Z\ngo:     go1.99.1 linux/arm64\n"
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestVersionCommands runs both spellings on a binary linked like a
// release, which must print exactly what the linker was given. (Whether the
// go tool stamps VCS data depends on GOFLAGS and the checkout, so that path
// is covered by TestReadBuildInfo.)
func TestVersionCommands(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "efssync")
	const commitID = "89abcdef0123456789abcdef0123456789abcdef"
	// "{{" in a value must reach the output verbatim, not as a template.
	ldflags := "-X main.version=9.8.7-{{x}} -X main.commit=" + commitID + " -X main.date=2026-11-25T22:00:00Z"
	build := exec.Command(goTool(), "build", "-ldflags", ldflags, "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	want := "efssync 9.8.7-{{x}}\ncommit: " + commitID + "\ndate:   2026-11-25T22:00:00Z\ngo:     " +
		runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			t.Fatalf("efssync %s: %v", args[0], err)
		}
		if string(out) != want {
			t.Errorf("efssync %s printed\n%s\nwant\n%s", args[0], out, want)
		}
	}
}

// goTool is the go command that runs these tests.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// TestDocs checks the man pages and completions the packages install: one
// page per visible command, none for the hidden docs command, and
// completion scripts the shells can parse.
func TestDocs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := efssync(t, nil, "docs", dir)
	mustCode(t, r, 0)
	for _, page := range []string{"efssync.1", "efssync-run.1", "efssync-verify.1", "efssync-gc.1", "efssync-version.1", "efssync-completion-bash.1"} {
		b, err := os.ReadFile(filepath.Join(dir, manDir, "man1", page))
		if err != nil {
			t.Errorf("man page: %v", err)
			continue
		}
		title := strings.ToUpper(strings.TrimSuffix(page, ".1"))
		if !strings.HasPrefix(string(b), ".nh\n.TH \""+title+"\" \"1\"") {
			t.Errorf("%s does not start with a .TH header:\n%.200s", page, b)
		}
		if strings.Contains(string(b), "Auto generated") {
			t.Errorf("%s carries cobra's dated footer, so every build would differ", page)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, manDir, "efssync-run.1")); err == nil && !strings.Contains(string(b), "dry-run") {
		t.Errorf("efssync-run.1 does not document --dry-run")
	}
	if _, err := os.Stat(filepath.Join(dir, manDir, "efssync-docs.1")); err == nil {
		t.Errorf("the hidden docs command got a man page")
	}
	for _, name := range []string{"efssync.bash", "_efssync", "efssync.fish"} {
		b, err := os.ReadFile(filepath.Join(dir, completionDir, name))
		if err != nil {
			t.Errorf("completion: %v", err)
			continue
		}
		if !strings.Contains(string(b), "efssync") {
			t.Errorf("%s does not complete efssync", name)
		}
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		requireCI(t, "bash not found: %v", err)
	}
	if out, err := exec.Command(bash, "-n", filepath.Join(dir, completionDir, "efssync.bash")).CombinedOutput(); err != nil {
		t.Errorf("bash -n efssync.bash: %v\n%s", err, out)
	}
	checkManWarnings(t, filepath.Join(dir, manDir))
}

// checkManWarnings renders every page in dir with man --warnings: any
// complaint of groff about the generated roff fails the test.
func checkManWarnings(t *testing.T, dir string) {
	t.Helper()
	man, err := exec.LookPath("man")
	if err != nil {
		requireCI(t, "man not found (Debian: apt-get install man-db): %v", err)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "*.1"))
	for _, p := range pages {
		cmd := exec.Command(man, "--warnings", "-l", "-Tutf8", "-Z", p)
		cmd.Env = append(os.Environ(), "MANWIDTH=80", "LC_ALL=C.UTF-8")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("man --warnings %s: %v\n%s", filepath.Base(p), err, stderr.String())
		}
	}
}
