package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/efssync/efssync/internal/treetest"
)

// slurmScript is the shipped script; the tests run it as it is, giving
// paths through its MIGRATION_* settings and resources as sbatch options.
const slurmScript = "slurm/efssync-array.sbatch"

// efssyncBin is the real efssync, built once by TestMain.
var efssyncBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

// runTests builds efssync from the parent module (its dependencies are not
// this module's) for the tests that run the deploy files against it.
func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "efssync-deploy-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	efssyncBin = filepath.Join(dir, "efssync")
	build := exec.Command("go", "build", "-o", efssyncBin, "./cmd/efssync")
	build.Dir = ".."
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building efssync: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// migration is one source tree, destination and state directory with the
// configuration file the script is given.
type migration struct {
	src, dst, state, config string
}

func newMigration(t *testing.T) migration {
	t.Helper()
	root := t.TempDir()
	m := migration{
		src:    filepath.Join(root, "src"),
		dst:    filepath.Join(root, "dst"),
		state:  filepath.Join(root, "state"),
		config: filepath.Join(root, "migration.yaml"),
	}
	for i := range 40 {
		p := filepath.Join(m.src, fmt.Sprintf("d%d/e%d/f%02d.dat", i%5, i%3, i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, bytes.Repeat([]byte{byte(i)}, 100*i), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("d1/e1/f01.dat", filepath.Join(m.src, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(m.dst, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("state_dir: %s\njobs:\n  - name: migration\n    source: %s\n    destinations:\n      - name: efs\n        type: fs\n        path: %s\n",
		m.state, m.src, m.dst)
	if err := os.WriteFile(m.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return m
}

// scriptEnv is what the script is given besides Slurm's variables.
func (m migration) scriptEnv() []string {
	return []string{"MIGRATION_CONFIG=" + m.config, "MIGRATION_EFSSYNC=" + efssyncBin}
}

// runTask runs the script as Slurm would for task id of an array with the
// given indexes, without Slurm, and returns its exit status and output.
func runTask(t *testing.T, m migration, id int, indexes []int, extra ...string) (int, string) {
	t.Helper()
	lo, hi := indexes[0], indexes[len(indexes)-1]
	cmd := exec.Command("bash", slurmScript)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin",
		"SLURM_ARRAY_TASK_ID=" + strconv.Itoa(id), "SLURM_ARRAY_TASK_MIN=" + strconv.Itoa(lo),
		"SLURM_ARRAY_TASK_MAX=" + strconv.Itoa(hi), "SLURM_ARRAY_TASK_COUNT=" + strconv.Itoa(len(indexes))},
		append(m.scriptEnv(), extra...)...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// TestSlurmArrayScript runs the script against the real efssync with the
// variables Slurm sets, for the three ways it failed a user: resources no
// small node has, its own variable caught by efssync's EFSSYNC_* overrides,
// and a shard count that silently differed from the array.
func TestSlurmArrayScript(t *testing.T) {
	if out, err := exec.Command("bash", "-n", slurmScript).CombinedOutput(); err != nil {
		t.Fatalf("bash -n %s: %v\n%s", slurmScript, err, out)
	}
	b, err := os.ReadFile(slurmScript)
	if err != nil {
		t.Fatal(err)
	}
	d := sbatchDirectives(t, string(b))
	if n, err := strconv.Atoi(d["--cpus-per-task"]); err != nil || n > 2 {
		t.Errorf("#SBATCH --cpus-per-task=%s: a 2-CPU node must run a task as shipped", d["--cpus-per-task"])
	}
	if _, ok := d["--exclusive"]; ok {
		t.Errorf("#SBATCH --exclusive: a shared or small cluster never starts the array; document it as an option instead")
	}
	// Only EFSSYNC_SHARD_COUNT, efssync's own override, may carry the prefix.
	for _, v := range regexp.MustCompile(`\bEFSSYNC_[A-Z0-9_]+`).FindAllString(string(b), -1) {
		if v != "EFSSYNC_SHARD_COUNT" {
			t.Errorf("the script uses %s: efssync reads every EFSSYNC_* variable as a configuration key", v)
		}
	}

	m := newMigration(t)
	all := []int{0, 1, 2, 3}
	if code, out := runTask(t, m, 3, []int{3}); code != 2 || !strings.Contains(out, "nothing gives the migration's shard count") {
		t.Errorf("--array=3 before any full run: exit %d, want 2 (refused)\n%s", code, out)
	}
	if code, out := runTask(t, m, 1, all, "EFSSYNC_SHARD_COUNT=2"); code != 2 || !strings.Contains(out, "does not cover the array's highest index 3") {
		t.Errorf("EFSSYNC_SHARD_COUNT=2 with --array=0-3: exit %d, want 2 (refused)\n%s", code, out)
	}
	if entries, _ := os.ReadDir(m.dst); len(entries) != 0 {
		t.Fatalf("a refused task wrote %d entries to the destination", len(entries))
	}
	for _, i := range all {
		if code, out := runTask(t, m, i, all); code != 0 || !strings.Contains(out, fmt.Sprintf("shard %d of 4 (count from the array 0-3)", i)) {
			t.Fatalf("task %d of --array=0-3: exit %d\n%s", i, code, out)
		}
	}
	treetest.Equal(t, m.src, m.dst)
	if code, out := runTask(t, m, 2, []int{2}); code != 0 || !strings.Contains(out, "shard 2 of 4 (count from "+m.state) {
		t.Errorf("--array=2 after a full run of 4: exit %d, want shard 2 of the recorded 4\n%s", code, out)
	}
	if code, out := runTask(t, m, 2, []int{2}, "EFSSYNC_SHARD_COUNT=8"); code != 0 || !strings.Contains(out, "shard 2 of 8 (count from EFSSYNC_SHARD_COUNT)") {
		t.Errorf("--array=2 with EFSSYNC_SHARD_COUNT=8: exit %d, want it honoured\n%s", code, out)
	}
}

// sbatchDirectives reads the #SBATCH lines, which sbatch honours only
// before the first command.
func sbatchDirectives(t *testing.T, script string) map[string]string {
	t.Helper()
	directives := map[string]string{}
	commands := false
	for i, line := range strings.Split(script, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "#SBATCH "):
			if commands {
				t.Errorf("line %d: #SBATCH after the first command is ignored by sbatch", i+1)
			}
			k, v, _ := strings.Cut(strings.TrimPrefix(line, "#SBATCH "), "=")
			directives[k] = v
		case trimmed != "" && !strings.HasPrefix(trimmed, "#"):
			commands = true
		}
	}
	for _, k := range []string{"--job-name", "--array", "--cpus-per-task", "--mem", "--time", "--output"} {
		if _, ok := directives[k]; !ok {
			t.Errorf("no #SBATCH %s", k)
		}
	}
	return directives
}

// runSummary is the part of efssync's "run finished" log line the tests read.
type runSummary struct {
	Msg    string `json:"msg"`
	Copied int    `json:"copied"`
	Failed int    `json:"failed"`
}

// summaries reads the "run finished" line of every task output in dir
// whose name matches glob, by task file name.
func summaries(t *testing.T, dir, glob string) map[string]runSummary {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, glob))
	out := map[string]runSummary{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			var s runSummary
			if json.Unmarshal([]byte(line), &s) == nil && s.Msg == "run finished" {
				out[filepath.Base(f)] = s
			}
		}
	}
	return out
}
