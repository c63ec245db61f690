package main

// The packages people install, built by scripts/package.sh (what `make
// package` runs) and checked the way an installation would see them.

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
	"/usr/lib/systemd/system/efssync@.service":          0o644,
	"/etc/efssync/config.yaml":                          0o640,
	"/etc/efssync/live.yaml":                            0o640,
	"/usr/share/man/man1/efssync.1.gz":                  0o644,
	"/usr/share/man/man5/efssync.yaml.5.gz":             0o644,
	"/usr/share/doc/efssync/copyright":                  0o644,
	"/usr/share/doc/efssync/changelog.Debian.gz":        0o644,
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

// packageTimeout bounds scripts/package.sh: a cold build cache on a loaded CI
// machine compiles the whole dependency tree once.
const packageTimeout = 10 * time.Minute

// TestPackageDeb builds the release artifacts for the host architecture
// with scripts/package.sh and the pinned nfpm, then unpacks the .deb with
// dpkg-deb and checks what it installs: paths and modes, the conffiles, a
// static binary whose --version names the commit and the package version,
// units that systemd accepts and that run the packaged binary, a
// machine-readable copyright file, and no lintian errors.
func TestPackageDeb(t *testing.T) {
	t.Parallel()
	nfpm := testbin.Find(t, "NFPM", "nfpm")
	dpkgDeb := lookTool(t, "dpkg-deb", "apt-get install dpkg")
	dpkg := lookTool(t, "dpkg", "apt-get install dpkg")
	lintian := lookTool(t, "lintian", "apt-get install lintian")
	git := lookTool(t, "git", "apt-get install git")
	repo, err := testbin.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	head, err := exec.Command(git, "-C", repo, "rev-parse", "HEAD").Output()
	if err != nil {
		requireCI(t, "the package test needs a git checkout (the version names the commit): %v", err)
	}
	commitID := strings.TrimSpace(string(head))

	dist := buildPackages(t, nfpm, repo)
	checkSums(t, dist)
	debs, _ := filepath.Glob(filepath.Join(dist, "*_"+runtime.GOARCH+".deb"))
	rpms, _ := filepath.Glob(filepath.Join(dist, "*.rpm"))
	tars, _ := filepath.Glob(filepath.Join(dist, "*_linux_"+runtime.GOARCH+".tar.gz"))
	if len(debs) != 1 || len(rpms) != 1 || len(tars) != 1 {
		t.Fatalf("dist has debs %v, rpms %v, tarballs %v; want one of each for %s", debs, rpms, tars, runtime.GOARCH)
	}
	checkTarball(t, tars[0])
	version, err := exec.Command(dpkgDeb, "-f", debs[0], "Version").Output()
	if err != nil {
		t.Fatal(err)
	}
	pkgVersion := strings.TrimSpace(string(version))
	if pkgVersion == "" || pkgVersion[0] < '0' || pkgVersion[0] > '9' {
		t.Errorf("package version %q does not start with a digit", pkgVersion)
	}
	if out, err := exec.Command(dpkg, "--validate-version", pkgVersion).CombinedOutput(); err != nil {
		t.Errorf("dpkg refuses version %q: %v %s", pkgVersion, err, out)
	}
	if out, err := exec.Command(lintian, "--fail-on", "error", debs[0]).CombinedOutput(); err != nil {
		t.Errorf("lintian %s: %v\n%s", filepath.Base(debs[0]), err, out)
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
	for _, c := range []string{"/etc/efssync/config.yaml", "/etc/efssync/live.yaml"} {
		if err != nil || !slices.Contains(strings.Fields(string(conffiles)), c) {
			t.Errorf("%s is not a conffile (conffiles %q, %v): an upgrade would overwrite the operator's edits", c, conffiles, err)
		}
	}
	copyright, _ := os.ReadFile(filepath.Join(root, "usr/share/doc/efssync/copyright"))
	for _, want := range []string{"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n",
		"\nFiles: *\nCopyright: the efssync authors\nLicense: Apache-2.0\n", "\nFiles: go-modules/github.com/spf13/cobra/*\n"} {
		if !strings.Contains(string(copyright), want) {
			t.Errorf("the copyright file lacks %q", want)
		}
	}

	bin := filepath.Join(root, packagedBinary)
	checkStatic(t, bin)
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("unpacked efssync --version: %v", err)
	}
	// The package revision (-1) is the packaging's, not efssync's.
	if !strings.Contains(string(out), "commit: "+commitID) || !strings.Contains(string(out), strings.TrimSuffix(pkgVersion, "-1")) {
		t.Errorf("unpacked efssync --version printed\n%s\nwant the commit %s and the version %s", out, commitID, pkgVersion)
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

// buildPackages runs scripts/package.sh for the host architecture into a
// temp dist directory (the repository's dist/ belongs to `make package`)
// and returns that directory.
func buildPackages(t *testing.T, nfpm, repo string) string {
	t.Helper()
	dist := filepath.Join(t.TempDir(), "dist")
	ctx, cancel := context.WithTimeout(t.Context(), packageTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(repo, "scripts", "package.sh"))
	cmd.Env = append(os.Environ(), "NFPM="+nfpm, "DIST="+dist, "ARCHES="+runtime.GOARCH,
		"STAGE_ROOT="+filepath.Join(t.TempDir(), "stage"))
	if log, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/package.sh: %v (ctx: %v)\n%s", err, ctx.Err(), log)
	}
	return dist
}

// checkTarball fails unless a tarball carries the licenses beside the
// binary.
func checkTarball(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command("tar", "-tzf", path).Output()
	if err != nil {
		t.Fatalf("tar -tzf %s: %v", path, err)
	}
	dir := strings.TrimSuffix(filepath.Base(path), ".tar.gz") + "/"
	names := strings.Fields(string(out))
	for _, want := range []string{"efssync", "LICENSE", "LICENSE-THIRD-PARTY", "examples/live.yaml", "man/man5/efssync.yaml.5.gz"} {
		if !slices.Contains(names, dir+want) {
			t.Errorf("%s lacks %s", filepath.Base(path), dir+want)
		}
	}
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
