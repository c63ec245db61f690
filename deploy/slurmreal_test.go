package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/efssync/efssync/internal/treetest"
)

// TestSlurmClusterMigration submits the shipped script to a real one-node
// Slurm cluster, against the real efssync: a wrong count is refused before
// anything is copied, the union of the shards is the source, a re-run
// copies nothing, and a task cancelled in an array, re-submitted alone,
// converges with the count the array recorded.
func TestSlurmClusterMigration(t *testing.T) {
	c := startSlurm(t)
	m := newMigration(t)
	out := t.TempDir()
	script, err := filepath.Abs(slurmScript)
	if err != nil {
		t.Fatal(err)
	}
	// sbatch submits the script unchanged; resources fit any node.
	submit := func(name string, env []string, args ...string) (string, int) {
		t.Helper()
		args = append([]string{"--parsable", "--job-name=" + name, "--cpus-per-task=1", "--mem=200M",
			"--chdir=" + out, "--output=" + out + "/" + name + "-%a.out"}, args...)
		return c.run(t, append(m.scriptEnv(), env...), "sbatch", append(args, script)...)
	}

	if _, code := submit("alone", nil, "--wait", "--array=3"); code == 0 {
		t.Errorf("--array=3 with no count anywhere succeeded")
	}
	checkRefused(t, out, "alone-3.out", "nothing gives the migration's shard count")
	if _, code := submit("short", []string{"EFSSYNC_SHARD_COUNT=2"}, "--wait", "--array=0-3"); code == 0 {
		t.Errorf("EFSSYNC_SHARD_COUNT=2 with --array=0-3 succeeded")
	}
	for i := range 4 {
		checkRefused(t, out, fmt.Sprintf("short-%d.out", i), "does not cover the array's highest index 3")
	}
	if entries, _ := os.ReadDir(m.dst); len(entries) != 0 {
		t.Fatalf("refused tasks wrote %d entries to the destination", len(entries))
	}

	if _, code := submit("first", nil, "--wait", "--array=0-3"); code != 0 {
		t.Fatalf("--array=0-3: exit %d", code)
	}
	treetest.Equal(t, m.src, m.dst)
	copied := 0
	for name, s := range checkTasks(t, out, "first-*.out", 4) {
		copied += s.Copied
		if s.Failed != 0 {
			t.Errorf("%s: %d files failed", name, s.Failed)
		}
	}
	if copied != 40 {
		t.Errorf("the shards copied %d files together, want the 40 of the source", copied)
	}

	if _, code := submit("again", nil, "--wait", "--array=0-3"); code != 0 {
		t.Fatalf("re-run of --array=0-3: exit %d", code)
	}
	for name, s := range checkTasks(t, out, "again-*.out", 4) {
		if s.Copied != 0 {
			t.Errorf("%s: a re-run copied %d files", name, s.Copied)
		}
	}

	// New files for every shard; task 1 is cancelled while its siblings run.
	for i := range 12 {
		p := filepath.Join(m.src, "new", fmt.Sprintf("n%02d", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	job, code := submit("cancel", nil, "--hold", "--array=0-3")
	if code != 0 {
		t.Fatalf("sbatch --hold: exit %d", code)
	}
	if _, code := c.run(t, nil, "scancel", job+"_1"); code != 0 {
		t.Fatalf("scancel %s_1: exit %d", job, code)
	}
	for _, i := range []int{0, 2, 3} {
		if _, code := c.run(t, nil, "scontrol", "release", fmt.Sprintf("%s_%d", job, i)); code != 0 {
			t.Fatalf("scontrol release %s_%d: exit %d", job, i, code)
		}
	}
	// A job that depends on the whole array ends after its last task.
	if _, code := c.run(t, nil, "sbatch", "--wait", "--dependency=afterany:"+job, "--output=/dev/null", "--wrap=true"); code != 0 {
		t.Fatalf("waiting for array %s: exit %d", job, code)
	}
	checkTasks(t, out, "cancel-*.out", 3)
	if _, err := os.Stat(filepath.Join(out, "cancel-1.out")); err == nil {
		t.Fatalf("cancelled task 1 ran")
	}
	if missing := len(treetest.Snapshot(t, m.src, nil)) - len(treetest.Snapshot(t, m.dst, nil)); missing == 0 {
		t.Fatalf("with task 1 cancelled the destination is complete: the test tree gives shard 1 nothing new")
	}
	if _, code := submit("resubmit", nil, "--wait", "--array=1"); code != 0 {
		t.Fatalf("re-submitted --array=1: exit %d", code)
	}
	b, _ := os.ReadFile(filepath.Join(out, "resubmit-1.out"))
	if !strings.Contains(string(b), "shard 1 of 4 (count from "+m.state) {
		t.Errorf("re-submitted task 1 did not run as shard 1 of the recorded 4:\n%s", b)
	}
	treetest.Equal(t, m.src, m.dst)
}

// checkRefused fails unless a task's output shows the script refused it.
func checkRefused(t *testing.T, dir, name, why string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil || !strings.Contains(string(b), why) {
		t.Errorf("%s: %v, want the script's refusal %q:\n%s", name, err, why, b)
	}
}

// checkTasks returns the run summaries of the tasks whose output matches
// glob, failing unless there are n.
func checkTasks(t *testing.T, dir, glob string, n int) map[string]runSummary {
	t.Helper()
	s := summaries(t, dir, glob)
	if len(s) != n {
		files, _ := filepath.Glob(filepath.Join(dir, glob))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			t.Logf("%s:\n%s", f, b)
		}
		t.Fatalf("%s: %d tasks finished a run, want %d", glob, len(s), n)
	}
	return s
}
