package main

// End-to-end tests of the operator's command line (issue 21): the exit-code
// table row by row, copy and sync without a configuration, and the shared
// rsync/rclone flags, all through the built binary.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/efssync/efssync/internal/faultfs"
	"github.com/efssync/efssync/internal/treetest"
)

// stateEnv gives a one-off command its own state directory.
func stateEnvFor(t *testing.T) []string {
	t.Helper()
	return []string{"XDG_STATE_HOME=" + t.TempDir(), "STATE_DIRECTORY="}
}

// TestExitCodes runs one command per row of the exit-code table and checks
// the code, and that the code is the exported constant the man page reads.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	if ExitOK != 0 || ExitFailed != 1 || ExitUsage != 2 || ExitInterrupted != 3 || ExitNothingDone != 4 {
		t.Fatal("the exit codes changed: update exitTable, docs/cli.md, the README and the systemd units")
	}
	base := t.TempDir()
	dirs := mkdirs(t, base, "src", "dst")
	src, dst := dirs[0], dirs[1]
	treetest.Write(t, src, map[string]string{"a.txt": "a", "d/b.txt": "b"})
	env := stateEnvFor(t)
	missing := filepath.Join(base, "not-mounted")
	badFilter := filepath.Join(base, "bad-filter")
	writeTestFile(t, badFilter, "+ *.txt\n* no sign\n")
	rows := []struct {
		name string
		args []string
		want int
	}{
		{"in sync", []string{"copy", src, dst}, ExitOK},
		{"one destination unusable, the other synced", []string{"copy", src, dst, missing}, ExitFailed},
		{"unknown command", []string{"cpoy", src, dst}, ExitUsage},
		{"unknown flag", []string{"copy", "--no-such-flag", src, dst}, ExitUsage},
		{"unknown config subcommand", []string{"config", "chek"}, ExitUsage},
		{"unknown report subcommand", []string{"report", "no-such-report"}, ExitUsage},
		{"init without its flags", []string{"init"}, ExitUsage},
		{"--json with --report -", []string{"copy", "--json", "--report", "-", src, dst}, ExitUsage},
		{"S3 to S3", []string{"copy", "s3://a/b", "s3://c/d"}, ExitUsage},
		{"invalid --max-delete", []string{"sync", "--max-delete", "lots", src, dst}, ExitUsage},
		{"--bwlimit timetable", []string{"copy", "--bwlimit", "00:00,100M 12:00,off", src, dst}, ExitOK},
		{"invalid --bwlimit", []string{"copy", "--bwlimit", "08:00", src, dst}, ExitUsage},
		{"invalid --transfers", []string{"copy", "--transfers", "0", src, dst}, ExitUsage},
		{"bad --filter-from rule", []string{"copy", "--filter-from", badFilter, src, dst}, ExitUsage},
		{"missing --exclude-from file", []string{"copy", "--exclude-from", filepath.Join(base, "none"), src, dst}, ExitUsage},
		{"every destination unusable", []string{"copy", src, missing}, ExitNothingDone},
		{"source unusable", []string{"copy", filepath.Join(base, "no-source"), dst}, ExitNothingDone},
	}
	for _, r := range rows {
		res := efssync(t, env, r.args...)
		if res.code != r.want {
			t.Errorf("%s: efssync %s: exit %d, want %d\nstderr:\n%s", r.name, strings.Join(r.args, " "), res.code, r.want, res.stderr)
		}
	}
}

// A file that fails at a destination exits 1 (the table's row "some files
// failed"), on a FUSE mount that fails every write.
func TestExitCodeFileFailed(t *testing.T) {
	t.Parallel()
	dirs := mkdirs(t, t.TempDir(), "src", "backing")
	treetest.Write(t, dirs[0], map[string]string{"a.txt": "a"})
	ffs, mnt := faultfs.Mount(t, dirs[1], faultfs.Options{CacheTimeout: -1})
	ffs.FailWrites(syscall.EIO)
	mustCode(t, efssync(t, stateEnvFor(t), "copy", dirs[0], mnt), ExitFailed)
}

// The help shows the table, and -v no longer means --version.
func TestHelpShowsExitCodes(t *testing.T) {
	t.Parallel()
	r := efssync(t, nil, "--help")
	mustCode(t, r, 0)
	for _, want := range []string{"Exit status:", "  3  interrupted", "  4  nothing could be done"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--help lacks %q:\n%s", want, r.stdout)
		}
	}
	mustCode(t, efssync(t, nil, "-v"), ExitUsage)
	if r := efssync(t, nil, "--version"); r.code != 0 || !strings.HasPrefix(r.stdout, "efssync ") {
		t.Errorf("--version: exit %d, %q", r.code, r.stdout)
	}
}

// Every command's --help has examples.
func TestEveryCommandHasExamples(t *testing.T) {
	t.Parallel()
	for _, c := range [][]string{{}, {"run"}, {"copy"}, {"sync"}, {"verify"}, {"gc"}, {"init"}, {"config", "check"}, {"version"}} {
		r := efssync(t, nil, append(c, "--help")...)
		if r.code != 0 || !strings.Contains(r.stdout, "Examples:") {
			t.Errorf("efssync %s --help: exit %d, no Examples section:\n%s", strings.Join(c, " "), r.code, r.stdout)
		}
	}
}

// copy twice: the second is incremental (the manifest is found again by
// the pair's name), and --no-manifest copies everything and leaves nothing.
func TestCopyIncremental(t *testing.T) {
	t.Parallel()
	dirs := mkdirs(t, t.TempDir(), "src", "dst", "dst2")
	src, dst := dirs[0], dirs[1]
	files := map[string]string{"a.txt": "a", "d/b.txt": "bb", "d/e/c.bin": "ccc"}
	treetest.Write(t, src, files)
	if err := os.MkdirAll(filepath.Join(src, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := stateEnvFor(t)
	r := efssync(t, env, "copy", "--json", src, dst)
	mustCode(t, r, 0)
	if s := summaryOf(t, r.stdout); s["copied"] != float64(3) || s["ok"] != true {
		t.Errorf("first copy: %v", s)
	}
	treetest.Equal(t, src, dst)
	r = efssync(t, env, "copy", "--json", src, dst)
	mustCode(t, r, 0)
	if s := summaryOf(t, r.stdout); s["copied"] != float64(0) || s["unchanged"] != float64(3) {
		t.Errorf("second copy is not incremental: %v", s)
	}
	r = efssync(t, env, "copy", "--json", "--no-manifest", src, dirs[2])
	mustCode(t, r, 0)
	if s := summaryOf(t, r.stdout); s["copied"] != float64(3) || s["report"] != nil {
		t.Errorf("--no-manifest: %v", s)
	}
	treetest.Equal(t, src, dirs[2])
}

// sync deletes at the destination what the source lacks; copy never does.
func TestSyncMirrors(t *testing.T) {
	t.Parallel()
	dirs := mkdirs(t, t.TempDir(), "src", "dst")
	src, dst := dirs[0], dirs[1]
	treetest.Write(t, src, map[string]string{"keep.txt": "k", "gone.txt": "g"})
	env := stateEnvFor(t)
	mustCode(t, efssync(t, env, "copy", src, dst), 0)
	if err := os.Remove(filepath.Join(src, "gone.txt")); err != nil {
		t.Fatal(err)
	}
	mustCode(t, efssync(t, env, "copy", src, dst), 0)
	if _, err := os.Stat(filepath.Join(dst, "gone.txt")); err != nil {
		t.Fatalf("copy deleted at the destination: %v", err)
	}
	r := efssync(t, env, "sync", "--max-delete", "1", "--json", src, dst)
	mustCode(t, r, 0)
	if s := summaryOf(t, r.stdout); s["deleted"] != float64(1) {
		t.Errorf("sync: %v", s)
	}
	treetest.Equal(t, src, dst)
}

// The filter flags add to each other: --exclude, --exclude-from, --include.
func TestCopyFilterFlags(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	dirs := mkdirs(t, base, "src", "dst")
	src, dst := dirs[0], dirs[1]
	treetest.Write(t, src, map[string]string{"a.txt": "a", "b.log": "b", "c.tmp": "c", "d/e.txt": "e", "d/f.bak": "f"})
	from := filepath.Join(base, "excludes")
	writeTestFile(t, from, "# editor leftovers\n*.bak\n\n; and temp files\n*.tmp\n")
	r := efssync(t, stateEnvFor(t), "copy", "--exclude", "*.log", "--exclude-from", from, src, dst)
	mustCode(t, r, 0)
	got := regularFiles(t, dst)
	want := []string{"a.txt", "d/e.txt"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("copied %v, want %v", got, want)
	}
}

// summaryOf reads the --json summary line from stdout.
func summaryOf(t *testing.T, stdout string) map[string]any {
	t.Helper()
	for _, line := range strings.Split(stdout, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["type"] == "summary" {
			return m
		}
	}
	t.Fatalf("no JSON summary on stdout:\n%s", stdout)
	return nil
}

// init writes absolute paths from relative arguments, writes to stdout with
// -c -, replaces a file only with --force, and writes nothing that does not
// validate (exit 2).
func TestInitRelativeStdoutForce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dirs := mkdirs(t, dir, "src", "dst")
	writeTestFile(t, filepath.Join(dirs[0], "f"), "x")
	initIn := func(args ...string) result {
		t.Helper()
		// Relative arguments, resolved against the working directory.
		cmd := command(t.Context(), nil, append([]string{"init"}, args...)...)
		cmd.Dir = dir
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		r := result{}
		if err := cmd.Run(); err != nil {
			r.code = cmd.ProcessState.ExitCode()
		}
		r.stdout, r.stderr = out.String(), errb.String()
		return r
	}
	r := initIn("-c", "-", "--source", "src", "--dest", "dst", "--state-dir", "state")
	mustCode(t, r, 0)
	for _, want := range []string{quote(dirs[0]), quote(dirs[1]), quote(filepath.Join(dir, "state"))} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("-c - output lacks the absolute path %s:\n%s", want, r.stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "-")); err == nil {
		t.Error("-c - created a file named -")
	}
	mustCode(t, initIn("-c", "c.yaml", "--source", "src", "--dest", "dst", "--state-dir", "state"), 0)
	mustCode(t, initIn("-c", "c.yaml", "--source", "src", "--dest", "other"), ExitUsage)
	r = initIn("-c", "c.yaml", "--source", "src", "--dest", "other", "--force")
	mustCode(t, r, 0)
	if b, _ := os.ReadFile(filepath.Join(dir, "c.yaml")); !strings.Contains(string(b), quote(filepath.Join(dir, "other"))) {
		t.Errorf("--force did not replace the file:\n%s", b)
	}
	// A job name the configuration rejects: nothing is written.
	r = initIn("-c", "bad.yaml", "--source", "src", "--dest", "dst", "--name", "bad name!")
	mustCode(t, r, ExitUsage)
	if _, err := os.Stat(filepath.Join(dir, "bad.yaml")); err == nil {
		t.Error("an invalid starter was written")
	}
	mustCode(t, efssync(t, nil, "run", "-c", filepath.Join(dir, "c.yaml"), "--report", filepath.Join(dir, "r.jsonl")), ExitNothingDone)
}

// -v prints one line per file copied or deleted on stdout, -vv adds the
// unchanged ones, --json -v makes each a JSON object beside the summary,
// and the report's first line carries the flags in force.
func TestVerboseLinesAndFlagsInReport(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	dirs := mkdirs(t, base, "src", "dst")
	src, dst := dirs[0], dirs[1]
	treetest.Write(t, src, map[string]string{"a.txt": "a", "d/b.txt": "b"})
	env := stateEnvFor(t)
	r := efssync(t, env, "copy", "-v", src, dst)
	mustCode(t, r, 0)
	for _, want := range []string{"copied      a.txt  -> " + dst, "copied      d/b.txt  -> " + dst} {
		if !strings.Contains(r.stdout, want+"\n") {
			t.Errorf("-v output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = efssync(t, env, "copy", "-v", src, dst)
	if strings.Contains(r.stdout, "skipped") {
		t.Errorf("-v printed unchanged files:\n%s", r.stdout)
	}
	r = efssync(t, env, "copy", "-vv", src, dst)
	if !strings.Contains(r.stdout, "skipped     a.txt\n") {
		t.Errorf("-vv did not print unchanged files:\n%s", r.stdout)
	}
	if err := os.Remove(filepath.Join(src, "a.txt")); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(base, "report.jsonl")
	r = efssync(t, env, "sync", "-v", "--json", "--max-delete", "1", "--report", report, src, dst)
	mustCode(t, r, 0)
	var sawDelete bool
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("--json -v wrote a line that is not JSON: %q", line)
		}
		sawDelete = sawDelete || m["type"] == "file" && m["status"] == "deleted" && m["path"] == "a.txt"
	}
	if !sawDelete || summaryOf(t, r.stdout)["deleted"] != float64(1) {
		t.Errorf("--json -v: no file line for the delete, or no summary:\n%s", r.stdout)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var first struct {
		Status string
		Flags  []string
	}
	if err := json.Unmarshal([]byte(strings.SplitN(string(b), "\n", 2)[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first.Status != "started" || !strings.Contains(strings.Join(first.Flags, " "), "--max-delete=1") {
		t.Errorf("report's first line: %+v, want status started with the flags", first)
	}
}

// --filter-from rules come first, in order: "+ keep.log" wins over the
// --exclude '*.log' given beside it, "- *" leaves out everything else the
// rules did not take, and the walk still descends into directories.
func TestCopyFilterFrom(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	dirs := mkdirs(t, base, "src", "dst")
	src, dst := dirs[0], dirs[1]
	treetest.Write(t, src, map[string]string{"keep.log": "k", "drop.log": "d", "a/b.jpg": "j", "a/c.txt": "t", "tmp/x.jpg": "x"})
	rules := filepath.Join(base, "rules")
	writeTestFile(t, rules, "# rclone syntax\n+ keep.log\n- /tmp/**\n+ *.jpg\n- *\n")
	r := efssync(t, stateEnvFor(t), "copy", "--filter-from", rules, "--exclude", "*.log", src, dst)
	mustCode(t, r, 0)
	got := regularFiles(t, dst)
	want := []string{"a/b.jpg", "keep.log"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("copied %v, want %v", got, want)
	}
}
