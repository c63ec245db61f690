package main

// End-to-end tests: they build the efssync binary once and run it as an
// operator would, on real temporary trees, a real tmpfs and a FUSE mount with
// injected faults, and check exit codes, logs, reports and the replicas.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/efssync/efssync/internal/faultfs"
	"github.com/efssync/efssync/internal/treetest"
)

// binPath is the efssync binary built by TestMain for every test of the
// package; building once keeps the suite well under a minute.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "efssync-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "efssync")
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	// Built like the release (static, -trimpath: .goreleaser.yaml), so the
	// package test's goreleaser finds every package compiled already.
	build := exec.Command(goTool, "build", "-trimpath", "-o", binPath, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one invocation of the binary produced.
type result struct {
	code           int
	stdout, stderr string
}

// commandTimeout bounds every invocation, so a hang (a lock wait, a stuck
// mount) fails the test instead of blocking the suite. It is a safety net,
// not a timing assertion.
const commandTimeout = 60 * time.Second

// command prepares the binary with a clean environment: no EFSSYNC_*
// variable of the developer's shell leaks into a test, and extra (KEY=VALUE)
// is added.
func command(ctx context.Context, extra []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binPath, args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "EFSSYNC_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, extra...)
	return cmd
}

// efssync runs the binary to completion.
func efssync(t *testing.T, extra []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), commandTimeout)
	defer cancel()
	cmd := command(ctx, extra, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		r.code = ee.ExitCode()
	default:
		t.Fatalf("efssync %s: %v (ctx: %v)\nstderr:\n%s", strings.Join(args, " "), err, ctx.Err(), r.stderr)
	}
	return r
}

// mustCode fails the test unless r exited with want.
func mustCode(t *testing.T, r result, want int) {
	t.Helper()
	if r.code != want {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, want, r.stdout, r.stderr)
	}
}

// quote renders s as a YAML double-quoted scalar (Go's quoting is a subset
// for the ASCII paths tests use).
func quote(s string) string { return fmt.Sprintf("%q", s) }

// job describes one job of a generated config.
type job struct {
	name   string
	source string
	dests  []string
	extra  string // further YAML lines of the job, indented by 4 spaces
}

// writeConfig writes a YAML config with one job and its own state dir
// under dir, and returns its path.
func writeConfig(t *testing.T, dir string, j job) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "state_dir: %s\n", quote(filepath.Join(dir, "state")))
	if j.name == "" {
		j.name = "e2e"
	}
	fmt.Fprintf(&b, "jobs:\n  - name: %s\n    source: %s\n    destinations:\n", j.name, quote(j.source))
	for _, d := range j.dests {
		fmt.Fprintf(&b, "      - type: fs\n        path: %s\n", quote(d))
	}
	b.WriteString(j.extra)
	p := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// mkdirs creates fresh directories under a test temp dir.
func mkdirs(t *testing.T, base string, names ...string) []string {
	t.Helper()
	var out []string
	for _, n := range names {
		p := filepath.Join(base, n)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// finished returns the fields of the "run finished" JSON log line on
// stderr; the binary logs JSON because stderr is a pipe here.
func finished(t *testing.T, stderr string) map[string]any {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(stderr))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		if m["msg"] == "run finished" {
			return m
		}
	}
	t.Fatalf("no \"run finished\" JSON line on stderr:\n%s", stderr)
	return nil
}

// num reads a numeric field of a log line.
func num(t *testing.T, m map[string]any, key string) int64 {
	t.Helper()
	v, ok := m[key].(float64)
	if !ok {
		t.Fatalf("log field %q is %v (%T), want a number; line: %v", key, m[key], m[key], m)
	}
	return int64(v)
}

// reportLine is the part of a report line the tests check.
type reportLine struct {
	Job, Path, Dest, Action, Status, Error string
}

func readReport(t *testing.T, path string) []reportLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	var out []reportLine
	for i, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var r reportLine
		if err := json.Unmarshal(l, &r); err != nil {
			t.Fatalf("report %s line %d: %v: %s", path, i+1, err, l)
		}
		if r.Status == "started" || r.Status == "ended" {
			continue // the file's framing, not an entry (docs/reports.md)
		}
		out = append(out, r)
	}
	return out
}

// regularFiles lists the rel paths of the regular files under root, skipping
// efssync temp files.
func regularFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.Type().IsRegular() && !strings.HasPrefix(de.Name(), ".efssync-tmp-") {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// noPartialFiles fails the test if any file under its final name at dst
// differs from the source: whatever a crash or a fault left behind must be
// whole. It returns the files present.
func noPartialFiles(t *testing.T, src, dst string) []string {
	t.Helper()
	got := regularFiles(t, dst)
	for _, rel := range got {
		a, err := os.ReadFile(filepath.Join(src, rel))
		if err != nil {
			t.Errorf("%s at the destination has no source: %v", rel, err)
			continue
		}
		b, err := os.ReadFile(filepath.Join(dst, rel))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s under its final name differs from the source (%d of %d bytes)", rel, len(b), len(a))
		}
	}
	return got
}

// requireCI fails in CI and skips elsewhere, for a missing prerequisite.
func requireCI(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// bigTree is a read-only source shared by the tests that need a run to last
// long enough to be interrupted: large files, so that a copy is still in
// flight when a test looks.
var bigTree = struct {
	once sync.Once
	dir  string
	err  error
}{}

const (
	bigFiles    = 8
	bigFileSize = 16 << 20
)

func bigSource(t *testing.T) string {
	t.Helper()
	bigTree.once.Do(func() {
		bigTree.dir, bigTree.err = writeBigTree(filepath.Join(filepath.Dir(binPath), "big"))
	})
	if bigTree.err != nil {
		t.Fatalf("big source: %v", bigTree.err)
	}
	return bigTree.dir
}

// writeBigTree writes bigFiles files of bigFileSize bytes. Every MiB block
// is one random block stamped with its file and block number, so no two
// blocks are alike (a misplaced or repeated chunk shows) while generating
// stays cheap under the race detector.
func writeBigTree(dir string) (string, error) {
	const block = 1 << 20
	base := make([]byte, block)
	_, _ = rand.NewChaCha8([32]byte{'e', 'f', 's', 's', 'y', 'n', 'c'}).Read(base)
	buf := make([]byte, bigFileSize)
	for i := range bigFiles {
		for off := 0; off < bigFileSize; off += block {
			copy(buf[off:off+block], base)
			binary.LittleEndian.PutUint64(buf[off:], uint64(i))
			binary.LittleEndian.PutUint64(buf[off+8:], uint64(off))
		}
		p := filepath.Join(dir, fmt.Sprintf("d%d", i%2), fmt.Sprintf("big%02d.bin", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// started is a binary running in the background.
type started struct {
	cmd            *exec.Cmd
	stdout, stderr lockedBuffer
	done           chan struct{}
	err            error
}

// lockedBuffer collects a running process's output; a test may read it
// while the process writes, to wait for a line it logs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func start(t *testing.T, args ...string) *started {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	s := &started{done: make(chan struct{})}
	s.cmd = command(ctx, nil, args...)
	s.cmd.Stdout, s.cmd.Stderr = &s.stdout, &s.stderr
	if err := s.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		s.err = s.cmd.Wait()
		cancel()
		close(s.done)
	}()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.done
	})
	return s
}

// waitTempFile polls, until the process exits, for an efssync temp file
// under dst (the sign that a copy is in flight) and at least published
// regular files. Polling is how one waits for another process; nothing here
// asserts on time.
func (s *started) waitTempFile(t *testing.T, dst string, published int) bool {
	t.Helper()
	for {
		if len(treetest.Leftovers(t, dst)) > 0 && len(regularFiles(t, dst)) >= published {
			return true
		}
		select {
		case <-s.done:
			return false
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func TestRunCopiesThenNothing(t *testing.T) {
	t.Parallel()
	dirs := mkdirs(t, t.TempDir(), "src", "d1", "d2", "cfg")
	src, d1, d2, cfgDir := dirs[0], dirs[1], dirs[2], dirs[3]
	rels := treetest.Random(t, src, 1, 300, 8<<10)
	treetest.Write(t, src, map[string]string{"empty/.keep": "", "top.txt": "hello\n"})
	if err := os.Symlink("top.txt", filepath.Join(src, "link-to-top")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(src, "top.txt"), filepath.Join(src, "empty", "hard-top.txt")); err != nil {
		t.Fatal(err)
	}
	regular := append(rels, "empty/.keep", "top.txt", "empty/hard-top.txt")
	cfg := writeConfig(t, cfgDir, job{source: src, dests: []string{d1, d2}})

	rep1 := filepath.Join(cfgDir, "run1.jsonl")
	r := efssync(t, nil, "run", "--config", cfg, "--report", rep1)
	mustCode(t, r, 0)
	treetest.Equal(t, src, d1)
	treetest.Equal(t, src, d2)
	sum := finished(t, r.stderr)
	if got := num(t, sum, "failed"); got != 0 {
		t.Errorf("first run: failed = %d", got)
	}
	if got := num(t, sum, "copied"); got < int64(len(rels)) {
		t.Errorf("first run: copied = %d, want at least %d", got, len(rels))
	}
	// Every file appears in the first report as copied (or linked, for the
	// second name of a hard link) at both destinations.
	seen := map[string]map[string]string{}
	for _, l := range readReport(t, rep1) {
		if seen[l.Path] == nil {
			seen[l.Path] = map[string]string{}
		}
		seen[l.Path][l.Dest] = l.Status
	}
	for _, rel := range regular {
		for _, d := range []string{d1, d2} {
			switch st := seen[rel][d]; st {
			case "copied", "linked":
			default:
				t.Errorf("report of the first run: %s at %s has status %q, want copied or linked", rel, d, st)
			}
		}
	}

	rep2 := filepath.Join(cfgDir, "run2.jsonl")
	r = efssync(t, nil, "run", "-vv", "--config", cfg, "--report", rep2) // -vv lists unchanged entries
	mustCode(t, r, 0)
	sum = finished(t, r.stderr)
	if got := num(t, sum, "copied"); got != 0 {
		t.Errorf("second run: copied = %d, want 0", got)
	}
	if got := num(t, sum, "bytes"); got != 0 {
		t.Errorf("second run: bytes = %d, want 0", got)
	}
	listed := map[string]bool{}
	for _, l := range readReport(t, rep2) {
		listed[l.Path] = true
		if l.Status != "skipped" {
			t.Errorf("report of the second run: %s at %q: status %q, want skipped", l.Path, l.Dest, l.Status)
		}
	}
	for _, rel := range append(regular, "link-to-top", "empty") {
		if !listed[rel] {
			t.Errorf("report of the second run does not list %s", rel)
		}
	}
	treetest.Equal(t, src, d1)
	treetest.Equal(t, src, d2)

	mustCode(t, efssync(t, nil, "verify", "--config", cfg), 0)
}

func TestDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	dirs := mkdirs(t, t.TempDir(), "src", "dst", "cfg")
	src, dst, cfgDir := dirs[0], dirs[1], dirs[2]
	rels := treetest.Random(t, src, 2, 20, 1024)
	cfg := writeConfig(t, cfgDir, job{source: src, dests: []string{dst}})

	r := efssync(t, nil, "run", "--config", cfg, "--dry-run")
	mustCode(t, r, 0)
	for _, rel := range rels {
		if !strings.Contains(r.stdout, quote(rel)) {
			t.Errorf("dry-run plan does not mention %s:\n%s", rel, r.stdout)
		}
	}
	ents, err := os.ReadDir(dst)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("dry run wrote %s to the destination", e.Name())
	}
	if m, _ := filepath.Glob(filepath.Join(cfgDir, "state", "manifests", "*")); len(m) > 0 {
		t.Errorf("dry run created the manifest %v", m)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := efssync(t, nil, "version")
	mustCode(t, r, 0)
	if !strings.HasPrefix(r.stdout, "efssync ") {
		t.Errorf("version printed %q, want it to start with \"efssync \"", r.stdout)
	}
}

func TestUnknownJob(t *testing.T) {
	t.Parallel()
	dirs := mkdirs(t, t.TempDir(), "src", "dst", "cfg")
	cfg := writeConfig(t, dirs[2], job{source: dirs[0], dests: []string{dirs[1]}})
	r := efssync(t, nil, "run", "--config", cfg, "--job", "nope")
	mustCode(t, r, 2)
	if !strings.Contains(r.stderr, "nope") || !strings.Contains(r.stderr, "no such job") {
		t.Errorf("stderr does not say job nope does not exist:\n%s", r.stderr)
	}
}

func TestBadConfig(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	dirs := mkdirs(t, base, "src", "dst")
	src, dst := dirs[0], dirs[1]
	state := filepath.Join(base, "state")
	// good is a valid config with one line replaced or added, so each case
	// has exactly one problem.
	good := func(jobExtra, srcVal, dests string) string {
		if srcVal == "" {
			srcVal = quote(src)
		}
		if dests == "" {
			dests = "\n      - type: fs\n        path: " + quote(dst)
		}
		return "state_dir: " + quote(state) + "\njobs:\n  - name: j\n    source: " + srcVal +
			"\n    destinations:" + dests + "\n" + jobExtra
	}
	cases := []struct {
		name    string
		file    string // config file name; "" means no --config flag
		content string // written unless missing
		missing bool
		env     []string
		want    []string // all must appear on stderr
	}{
		{name: "no --config", want: []string{"/etc/efssync/config.yaml", "EFSSYNC_CONFIG"}},
		{name: "nonexistent file", file: "absent.yaml", missing: true, want: []string{"absent.yaml", "no such file"}},
		{name: "bad extension", file: "c.ini", content: good("", "", ""), want: []string{"c.ini", "unsupported extension"}},
		{name: "yaml syntax", file: "c.yaml", content: "jobs:\n  - name: j\n    source: [unclosed\n", want: []string{"c.yaml", "yaml: line"}},
		{name: "unknown key", file: "c.yaml", content: good("    exlude: [\"*.tmp\"]\n", "", ""), want: []string{"jobs[0].exlude", "unknown key", "exclude"}},
		{name: "relative source", file: "c.yaml", content: good("", "src/data", ""), want: []string{"jobs[0].source", "absolute"}},
		{name: "missing destinations", file: "c.yaml", content: good("", "", " []"), want: []string{"jobs[0].destinations", "at least one destination"}},
		{name: "bad destination type", file: "c.yaml", content: good("", "", "\n      - type: ftp\n        path: "+quote(dst)), want: []string{"jobs[0].destinations[0].type", "ftp"}},
		{name: "bad size", file: "c.yaml", content: good("    bandwidth: 8XB\n", "", ""), want: []string{"jobs[0].bandwidth", "8XB"}},
		{name: "bad duration", file: "c.yaml", content: good("    rescan: ten minutes\n", "", ""), want: []string{"jobs[0].rescan", "duration"}},
		{name: "bad delete mode", file: "c.yaml", content: good("    delete: everything\n", "", ""), want: []string{"jobs[0].delete", "everything"}},
		{name: "bad max_delete", file: "c.yaml", content: good("    delete: mirror\n    max_delete: 150%\n", "", ""), want: []string{"jobs[0].max_delete", "150%"}},
		{name: "invalid glob", file: "c.yaml", content: good("    include: [\"a/[b\"]\n", "", ""), want: []string{"jobs[0].include[0]", "glob"}},
		{name: "dest inside source", file: "c.yaml", content: good("", "", "\n      - type: fs\n        path: "+quote(filepath.Join(src, "replica"))), want: []string{"jobs[0].destinations[0].path", "is inside jobs[0].source"}},
		{name: "bad env override", file: "c.yaml", content: good("", "", ""), env: []string{"EFSSYNC_JOBS_0_CONCURRENCY=lots"}, want: []string{"jobs[0].concurrency", "EFSSYNC_JOBS_0_CONCURRENCY"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"run"}
			if tc.file != "" {
				dir := filepath.Join(base, fmt.Sprintf("case%02d", i))
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				p := filepath.Join(dir, tc.file)
				if !tc.missing {
					if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				args = append(args, "--config", p)
			}
			r := efssync(t, tc.env, args...)
			mustCode(t, r, 2)
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr does not contain %q:\n%s", w, r.stderr)
				}
			}
			if ents, _ := os.ReadDir(dst); len(ents) > 0 {
				t.Errorf("a rejected config wrote to the destination")
			}
		})
	}
}

func TestKillMidCopy(t *testing.T) {
	t.Parallel()
	src := bigSource(t)
	dirs := mkdirs(t, t.TempDir(), "dst", "cfg")
	dst, cfgDir := dirs[0], dirs[1]
	// Bandwidth limiting is not applied to destinations yet, so the run is
	// made long by the size of the files instead.
	cfg := writeConfig(t, cfgDir, job{source: src, dests: []string{dst}, extra: "    concurrency: 2\n"})

	s := start(t, "run", "--config", cfg)
	// Kill once one file is published and others are in flight, so that
	// both kinds of file are checked afterwards.
	if !s.waitTempFile(t, dst, 1) {
		t.Fatalf("the run ended (%v) before any temp file appeared\nstderr:\n%s", s.err, s.stderr.String())
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.done
	var ee *exec.ExitError
	if !errors.As(s.err, &ee) || ee.Exited() {
		t.Fatalf("the run was not killed by the signal: %v", s.err)
	}
	present := noPartialFiles(t, src, dst)
	t.Logf("killed with %d of %d files published and temp files %v", len(present), bigFiles, treetest.Leftovers(t, dst))

	r := efssync(t, nil, "run", "--config", cfg)
	mustCode(t, r, 0)
	treetest.Equal(t, src, dst)
	if left := treetest.Leftovers(t, dst); len(left) > 0 {
		t.Errorf("temp files left after the rerun: %v", left)
	}
	sum := finished(t, r.stderr)
	if got, want := num(t, sum, "copied"), int64(bigFiles-len(present)); got < want {
		t.Errorf("rerun copied %d files, want at least the %d the killed run had not published", got, want)
	}
}

func TestConcurrentRunRefused(t *testing.T) {
	t.Parallel()
	dirs := mkdirs(t, t.TempDir(), "src", "backing", "cfg")
	src, backing, cfgDir := dirs[0], dirs[1], dirs[2]
	treetest.Random(t, src, 6, 10, 4096)
	// The destination holds every write until the gate opens, so the first
	// run is certainly still running (and holding the manifest) while the
	// second one starts, however fast the machine is.
	gate := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(gate) }) }
	_, mnt := faultfs.Mount(t, backing, faultfs.Options{
		DataWrite: time.Nanosecond,
		Sleep: func(ctx context.Context, op string, _ time.Duration) {
			if op != "write" {
				return
			}
			select {
			case <-gate:
			case <-ctx.Done():
			}
		},
	})
	t.Cleanup(open) // before the unmount, which runs earlier-registered
	cfg := writeConfig(t, cfgDir, job{source: src, dests: []string{mnt}})

	first := start(t, "run", "--config", cfg)
	if !first.waitTempFile(t, backing, 0) {
		t.Fatalf("the first run ended (%v) before any copy was seen\nstderr:\n%s", first.err, first.stderr.String())
	}
	second := efssync(t, nil, "run", "--config", cfg)
	open()
	if second.code == 0 {
		t.Fatalf("a second run on a manifest in use exited 0\nstderr:\n%s", second.stderr)
	}
	if !strings.Contains(second.stderr, "in use") || !strings.Contains(second.stderr, "manifest") {
		t.Errorf("the second run's error does not say the manifest is in use:\n%s", second.stderr)
	}
	<-first.done
	if first.err != nil {
		t.Fatalf("first run: %v\nstderr:\n%s", first.err, first.stderr.String())
	}
	treetest.Equal(t, src, mnt)
}

func TestMirrorDeleteGuard(t *testing.T) {
	t.Parallel()
	dirs := mkdirs(t, t.TempDir(), "src", "dst", "cfg")
	src, dst, cfgDir := dirs[0], dirs[1], dirs[2]
	treetest.Random(t, src, 3, 40, 512)
	cfg := writeConfig(t, cfgDir, job{source: src, dests: []string{dst}, extra: "    delete: mirror\n"})
	mustCode(t, efssync(t, nil, "run", "--config", cfg), 0)
	before := treetest.Snapshot(t, dst, nil)

	// The source "unmounted": empty.
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(src, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	r := efssync(t, nil, "run", "--config", cfg)
	mustCode(t, r, 1)
	if !strings.Contains(r.stderr, "refused") {
		t.Errorf("stderr does not say the delete was refused:\n%s", r.stderr)
	}
	after := treetest.Snapshot(t, dst, nil)
	if len(after) != len(before) {
		t.Errorf("destination had %d entries, now %d", len(before), len(after))
	}
	for rel, e := range before {
		a, ok := after[rel]
		if !ok {
			t.Errorf("%s was deleted", rel)
			continue
		}
		if !bytes.Equal(a.Content, e.Content) || a.Mode != e.Mode {
			t.Errorf("%s changed", rel)
		}
	}
}

// mountTmpfs mounts a tmpfs of the given size (mount(8) syntax, e.g. "2m")
// at a fresh directory for the test; it needs root.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		requireCI(t, "mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		requireCI(t, "mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

func TestNoSpaceLeft(t *testing.T) {
	t.Parallel()
	dst := mountTmpfs(t, "2m")
	dirs := mkdirs(t, t.TempDir(), "src", "cfg")
	src, cfgDir := dirs[0], dirs[1]
	const n = 10
	files := map[string]string{}
	r := rand.NewChaCha8([32]byte{4})
	for i := range n {
		b := make([]byte, 512<<10)
		_, _ = r.Read(b)
		files[fmt.Sprintf("media/part%02d.bin", i)] = string(b)
	}
	treetest.Write(t, src, files)
	cfg := writeConfig(t, cfgDir, job{source: src, dests: []string{dst}, extra: "    concurrency: 2\n"})

	rep := filepath.Join(cfgDir, "report.jsonl")
	res := efssync(t, nil, "run", "--config", cfg, "--report", rep)
	mustCode(t, res, 1)
	if !strings.Contains(res.stderr, "no space left on device") || !strings.Contains(res.stderr, filepath.Join(dst, "media")) {
		t.Errorf("stderr does not name the ENOSPC and the path:\n%s", res.stderr)
	}
	failed := 0
	for _, l := range readReport(t, rep) {
		if l.Status != "failed" {
			continue
		}
		failed++
		if !strings.Contains(l.Error, "no space left on device") || !strings.Contains(l.Error, l.Path) {
			t.Errorf("report line for %s: error %q does not name ENOSPC and the path", l.Path, l.Error)
		}
	}
	if failed == 0 {
		t.Errorf("no failed line in the report")
	}
	if left := treetest.Leftovers(t, dst); len(left) > 0 {
		t.Errorf("temp files left after ENOSPC: %v", left)
	}
	present := noPartialFiles(t, src, dst)
	if len(present) == n {
		t.Fatalf("every file fit in the small tmpfs; the test did not exercise ENOSPC")
	}
	// ENOSPC stops the destination for the run with one message naming it
	// (issue 21): the files in flight then fail, the rest are not tried.
	if c := strings.Count(res.stderr, "destination out of space"); c != 1 {
		t.Errorf("%d out-of-space messages, want 1:\n%s", c, res.stderr)
	}
	if got := num(t, finished(t, res.stderr), "failed"); got < 1 || got > int64(n-len(present)) {
		t.Errorf("summary failed = %d, want 1..%d (files missing at the destination)", got, n-len(present))
	}

	// Grow the file system in place (remount keeps its contents); the rerun
	// must copy exactly the files the manifest did not record.
	if out, err := exec.Command("mount", "-o", "remount,size=64m", dst).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v: %s", err, out)
	}
	res = efssync(t, nil, "run", "--config", cfg)
	mustCode(t, res, 0)
	if got, want := num(t, finished(t, res.stderr), "copied"), int64(n-len(present)); got != want {
		t.Errorf("rerun copied %d files, want exactly the %d missing", got, want)
	}
	treetest.Equal(t, src, dst)
}

func TestWriteEIO(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	dirs := mkdirs(t, base, "src", "backing", "cfg")
	src, backing, cfgDir := dirs[0], dirs[1], dirs[2]
	treetest.Random(t, src, 5, 12, 64<<10)
	ffs, mnt := faultfs.Mount(t, backing, faultfs.Options{CacheTimeout: -1})
	cfg := writeConfig(t, cfgDir, job{source: src, dests: []string{mnt}})

	ffs.FailWrites(syscall.EIO)
	res := efssync(t, nil, "run", "--config", cfg)
	mustCode(t, res, 1)
	if !strings.Contains(res.stderr, "input/output error") || !strings.Contains(res.stderr, mnt+"/") {
		t.Errorf("stderr does not name the I/O error and the path:\n%s", res.stderr)
	}
	noPartialFiles(t, src, backing)
	if left := treetest.Leftovers(t, backing); len(left) > 0 {
		t.Errorf("temp files left after EIO: %v", left)
	}

	ffs.ClearFaults()
	res = efssync(t, nil, "run", "--config", cfg)
	mustCode(t, res, 0)
	treetest.Equal(t, src, mnt)
	treetest.Equal(t, src, backing)
}
