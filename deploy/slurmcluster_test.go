package deploy

import (
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/efssync/efssync/internal/testbin"
)

// slurmCluster is a one-node Slurm cluster started for one test from
// Debian's munge, slurmctld and slurmd, without systemd: every daemon runs
// in the foreground (or, for munged, is reaped through its pid file) with
// its configuration, state and sockets in a temp dir, so nothing of the
// host's own Slurm, if any, is touched.
type slurmCluster struct {
	dir  string
	conf string
}

// slurmPrograms are what the cluster and the tests run.
var slurmPrograms = []string{"munged", "slurmctld", "slurmd", "sbatch", "scancel", "scontrol"}

// startSlurm starts the cluster and stops it when the test ends. A missing
// program or a non-root user fails the test under CI=true and skips it
// elsewhere.
func startSlurm(t *testing.T) *slurmCluster {
	t.Helper()
	for _, p := range slurmPrograms {
		if _, err := exec.LookPath(p); err != nil {
			testbin.Missing(t, fmt.Sprintf("%s not found (Debian: slurmctld slurmd slurm-client munge)", p))
		}
	}
	if os.Geteuid() != 0 {
		testbin.Missing(t, "slurmd must start as root to run jobs as their user")
	}
	c := &slurmCluster{dir: t.TempDir()}
	c.conf = filepath.Join(c.dir, "slurm.conf")
	for _, d := range []string{"munge", "ctld", "spool"} {
		if err := os.Mkdir(filepath.Join(c.dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	c.startMunge(t)
	node := c.localNode(t)
	ports := freePorts(t, 2)
	conf := fmt.Sprintf(`ClusterName=efssynctest
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=%d
SlurmdPort=%d
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=%[3]s/munge/sock
StateSaveLocation=%[3]s/ctld
SlurmdSpoolDir=%[3]s/spool
SlurmctldPidFile=%[3]s/slurmctld.pid
SlurmdPidFile=%[3]s/slurmd.pid
SlurmctldLogFile=%[3]s/slurmctld.log
SlurmdLogFile=%[3]s/slurmd.log
# No cgroups: processes are tracked through /proc.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/builtin
# sbatch --wait polls every 2 s only while that is under MinJobAge/2.
MinJobAge=4
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
%s NodeHostname=localhost NodeAddr=127.0.0.1 State=UNKNOWN
# Up to four tasks share a core: the test's trees are tiny.
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
`, ports[0], ports[1], c.dir, node)
	if err := os.WriteFile(c.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	c.daemon(t, "slurmctld", "-D", "-f", c.conf)
	c.daemon(t, "slurmd", "-D", "-N", "localhost", "-f", c.conf)
	return c
}

// startMunge starts munged with a fresh key. Without --foreground its
// parent exits only once the daemon is ready, so Run returning is the
// readiness signal; the pid file names the daemon to stop.
func (c *slurmCluster) startMunge(t *testing.T) {
	t.Helper()
	m := filepath.Join(c.dir, "munge")
	key := make([]byte, 1024)
	rand.Read(key)
	if err := os.WriteFile(filepath.Join(m, "key"), key, 0o400); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("munged", "--force", "--socket="+m+"/sock", "--key-file="+m+"/key",
		"--pid-file="+m+"/pid", "--log-file="+m+"/log", "--seed-file="+m+"/seed")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("munged: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		b, err := os.ReadFile(m + "/pid")
		if err != nil {
			t.Errorf("munged pid file: %v", err)
			return
		}
		var pid int
		if _, err := fmt.Sscan(string(b), &pid); err == nil && pid > 0 {
			syscall.Kill(pid, syscall.SIGTERM)
		}
	})
}

// localNode is this host's NodeName line as slurmd measures it (its real
// CPUs and memory), renamed localhost.
func (c *slurmCluster) localNode(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("slurmd", "-C").Output()
	if err != nil {
		t.Fatalf("slurmd -C: %v", err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	fields := strings.Fields(line)
	if len(fields) < 2 || !strings.HasPrefix(fields[0], "NodeName=") {
		t.Fatalf("slurmd -C printed %q", out)
	}
	fields[0] = "NodeName=localhost"
	return strings.Join(fields, " ")
}

// daemon runs one Slurm daemon in the foreground until the test ends; its
// output goes to DIR/NAME.out for a failing test's log.
func (c *slurmCluster) daemon(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := os.Create(filepath.Join(c.dir, name+".out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Env = c.env()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(out.Name())
			t.Logf("%s output:\n%s", name, b)
		}
	})
}

// env is the environment of a Slurm client or daemon of this cluster.
func (c *slurmCluster) env(extra ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "SLURM_CONF=" + c.conf}, extra...)
}

// run runs a Slurm client command and returns its trimmed standard output
// and exit status; a command that cannot start fails the test.
func (c *slurmCluster) run(t *testing.T, env []string, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = c.env(env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Logf("%s %s: exit %d: %s", name, strings.Join(args, " "), ee.ExitCode(), stderr.String())
			return strings.TrimSpace(string(out)), ee.ExitCode()
		}
		t.Fatalf("%s: %v", name, err)
	}
	return strings.TrimSpace(string(out)), 0
}

// freePorts reserves n TCP ports on 127.0.0.1 by binding them at once and
// releasing them just before the daemons bind.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}
