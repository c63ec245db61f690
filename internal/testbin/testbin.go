// Package testbin finds the external programs the test harnesses start
// (MinIO, Toxiproxy), so every harness looks in the same places and treats a
// missing program the same way: a failure in CI, a skip elsewhere.
package testbin

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Find returns the path of name: from the environment variable env when
// set, else <repo>/.bin/name (where scripts/install-test-deps.sh puts it),
// else PATH. When it is nowhere, the test fails under CI=true and is
// skipped otherwise.
func Find(t testing.TB, env, name string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			Missing(t, fmt.Sprintf("%s=%s: %v", env, p, err))
		}
		return p
	}
	if root, err := RepoRoot(); err == nil {
		p := filepath.Join(root, ".bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	Missing(t, fmt.Sprintf("%s not found (%s, <repo>/.bin/%s, PATH)", name, env, name))
	return ""
}

// Missing ends a test that lacks a program: CI must exercise every path, so
// there it fails; on a developer's machine it skips with the install hint.
func Missing(t testing.TB, why string) {
	t.Helper()
	msg := why + "; install it with scripts/install-test-deps.sh"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// RepoRoot walks up from the working directory (a package directory under
// go test) to the directory holding this module's go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/efssync/efssync")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod of github.com/efssync/efssync not found")
		}
		dir = parent
	}
}
