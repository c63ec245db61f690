package main

// The packages people install, built from the repository's .goreleaser.yaml
// and checked the way an installation would see them.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/efssync/efssync/internal/testbin"
)

// packagedBinary is where the .deb and .rpm install efssync.
const packagedBinary = "/usr/bin/efssync"

// packagedFiles are the paths the .deb must install, with their modes.
var packagedFiles = map[string]fs.FileMode{
	packagedBinary: 0o755,
	"/usr/lib/systemd/system/efssync.service":           0o644,
	"/usr/lib/systemd/system/efssync-migrate.service":   0o644,
	"/usr/lib/systemd/system/efssync-migrate.timer":     0o644,
	"/etc/efssync/config.yaml":                          0o640,
	"/usr/share/man/man1/efssync.1.gz":                  0o644,
	"/usr/share/man/man1/efssync-run.1.gz":              0o644,
	"/usr/share/man/man1/efssync-verify.1.gz":           0o644,
	"/usr/share/man/man1/efssync-gc.1.gz":               0o644,
	"/usr/share/man/man1/efssync-version.1.gz":          0o644,
	"/usr/share/bash-completion/completions/efssync":    0o644,
	"/usr/share/zsh/vendor-completions/_efssync":        0o644,
	"/usr/share/fish/vendor_completions.d/efssync.fish": 0o644,
	"/usr/share/doc/efssync/examples/config.yaml":       0o644,
	"/usr/share/doc/efssync/README.md":                  0o644,
}

// packageTimeout bounds goreleaser: a cold build cache on a loaded CI
// machine compiles the whole dependency tree once.
const packageTimeout = 10 * time.Minute

// TestPackageDeb builds the release artifacts for the host architecture
// with the pinned goreleaser, then unpacks the .deb with dpkg-deb and checks
// what it installs: paths and modes, the conffile, a static binary whose
// --version names the commit it was built from, and units that systemd
// accepts and that run the packaged binary.
func TestPackageDeb(t *testing.T) {
	t.Parallel()
	goreleaser := testbin.Find(t, "GORELEASER", "goreleaser")
	dpkgDeb := lookTool(t, "dpkg-deb", "apt-get install dpkg")
	git := lookTool(t, "git", "apt-get install git")
	repo, err := testbin.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	head, err := exec.Command(git, "-C", repo, "rev-parse", "HEAD").Output()
	if err != nil {
		requireCI(t, "the package test needs a git checkout (goreleaser reads the commit): %v", err)
	}
	commitID := strings.TrimSpace(string(head))

	dist := buildPackages(t, goreleaser, repo)
	checkSums(t, dist)
	debs, _ := filepath.Glob(filepath.Join(dist, "*_"+runtime.GOARCH+".deb"))
	rpms, _ := filepath.Glob(filepath.Join(dist, "*.rpm"))
	tars, _ := filepath.Glob(filepath.Join(dist, "*_linux_"+runtime.GOARCH+".tar.gz"))
	if len(debs) != 1 || len(rpms) != 1 || len(tars) != 1 {
		t.Fatalf("dist has debs %v, rpms %v, tarballs %v; want one of each for %s", debs, rpms, tars, runtime.GOARCH)
	}

	root := filepath.Join(t.TempDir(), "root")
	ctrl := filepath.Join(t.TempDir(), "DEBIAN")
	mustRun(t, dpkgDeb, "-x", debs[0], root)
	mustRun(t, dpkgDeb, "-e", debs[0], ctrl)
	for p, mode := range packagedFiles {
		fi, err := os.Stat(filepath.Join(root, p))
		switch {
		case err != nil:
			t.Errorf("the .deb does not install %s: %v", p, err)
		case !fi.Mode().IsRegular() || fi.Mode().Perm() != mode:
			t.Errorf("%s: mode %v, want a regular file with %v", p, fi.Mode(), mode)
		}
	}
	conffiles, err := os.ReadFile(filepath.Join(ctrl, "conffiles"))
	if err != nil || !slices.Contains(strings.Fields(string(conffiles)), "/etc/efssync/config.yaml") {
		t.Errorf("/etc/efssync/config.yaml is not a conffile (conffiles %q, %v): an upgrade would overwrite the operator's edits", conffiles, err)
	}

	bin := filepath.Join(root, packagedBinary)
	checkStatic(t, bin)
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("unpacked efssync --version: %v", err)
	}
	if !strings.Contains(string(out), "commit: "+commitID) {
		t.Errorf("unpacked efssync --version printed\n%s\nwant the commit %s", out, commitID)
	}

	units := filepath.Join(root, "usr/lib/systemd/system")
	for _, u := range unitFiles {
		d := directives(t, filepath.Join(units, u))
		for _, start := range d["Service.ExecStart"] {
			if !strings.HasPrefix(start, packagedBinary+" ") {
				t.Errorf("packaged %s: ExecStart=%s does not run %s", u, start, packagedBinary)
			}
		}
	}
	analyzeVerify(t, units, packagedBinary, bin)
}

// lookTool finds a program on PATH, failing in CI and skipping elsewhere.
func lookTool(t *testing.T, name, hint string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		requireCI(t, "%s not found (Debian: %s): %v", name, hint, err)
	}
	return p
}

// mustRun runs a command to success.
func mustRun(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
}

// buildPackages runs scripts/package.sh (what `make package` runs) on the
// repository's goreleaser configuration, changed only to build the host
// architecture into a temp dist directory (the repository's dist/ belongs
// to `make package`), and returns that directory.
func buildPackages(t *testing.T, goreleaser, repo string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatalf(".goreleaser.yaml: %v", err)
	}
	tmp := t.TempDir()
	dist := filepath.Join(tmp, "dist")
	cfg["dist"] = dist
	builds, _ := cfg["builds"].([]any)
	if len(builds) == 0 {
		t.Fatalf(".goreleaser.yaml has no builds")
	}
	for _, b := range builds {
		b.(map[string]any)["goarch"] = []string{runtime.GOARCH}
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(tmp, "goreleaser.yaml")
	if err := os.WriteFile(config, out, 0o644); err != nil {
		t.Fatal(err)
	}
	// goreleaser globs archive files relative to the repository only, so
	// the generated assets go to a scratch directory under build/.
	if err := os.MkdirAll(filepath.Join(repo, "build"), 0o755); err != nil {
		t.Fatal(err)
	}
	assets, err := os.MkdirTemp(filepath.Join(repo, "build"), "package-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(assets) })
	rel, err := filepath.Rel(repo, assets)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), packageTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(repo, "scripts", "package.sh"), "--config", config)
	cmd.Env = append(os.Environ(), "GORELEASER="+goreleaser, "EFSSYNC_PACKAGE_ASSETS="+rel, "EFSSYNC_BIN="+binPath)
	if log, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/package.sh: %v (ctx: %v)\n%s", err, ctx.Err(), log)
	}
	return dist
}

// checkSums verifies SHA256SUMS against every file it lists, and that it
// lists every archive and package.
func checkSums(t *testing.T, dist string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	listed := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Errorf("SHA256SUMS: malformed line %q", sc.Text())
			continue
		}
		listed[name] = true
		if got := fileSHA256(t, filepath.Join(dist, name)); got != sum {
			t.Errorf("SHA256SUMS: %s is %s, listed as %s", name, got, sum)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, pattern := range []string{"*.tar.gz", "*.deb", "*.rpm"} {
		matches, _ := filepath.Glob(filepath.Join(dist, pattern))
		for _, m := range matches {
			if !listed[filepath.Base(m)] {
				t.Errorf("SHA256SUMS does not list %s", filepath.Base(m))
			}
		}
	}
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// checkStatic fails when the binary asks for a dynamic loader: the packages
// promise one binary for every distribution.
func checkStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked (it has an ELF interpreter)", path)
		}
	}
}
