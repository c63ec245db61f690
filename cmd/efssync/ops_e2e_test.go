package main

// End-to-end tests of what operators run around the sync itself: finding
// the configuration, init, config check, inspection while an agent runs,
// start-up checks, metrics files, report output and log priorities.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/efssync/efssync/internal/miniotest"
)

// manifestOf returns the manifest path `config check` resolves for cfg.
func manifestOf(t *testing.T, cfg string) string {
	t.Helper()
	r := efssync(t, nil, "config", "check", "--config", cfg)
	mustCode(t, r, 0)
	m := regexp.MustCompile(`(?m)^manifest: (.+)$`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("config check shows no manifest:\n%s", r.stdout)
	}
	return m[1]
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Two configuration files in one state directory get two manifests; the
// same file, named by --config or by EFSSYNC_CONFIG, gets the same one.
func TestManifestDerivedFromConfigFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dirs := mkdirs(t, dir, "src", "dst", "one", "two")
	one := writeConfig(t, dirs[2], job{source: dirs[0], dests: []string{dirs[1]}})
	two := writeConfig(t, dirs[3], job{source: dirs[0], dests: []string{dirs[1]}})
	// Same state directory for both.
	for _, c := range []string{one, two} {
		b, _ := os.ReadFile(c)
		b = regexp.MustCompile(`(?m)^state_dir: .*$`).ReplaceAll(b, []byte("state_dir: "+quote(filepath.Join(dir, "state"))))
		writeTestFile(t, c, string(b))
	}
	m1, m2 := manifestOf(t, one), manifestOf(t, two)
	if m1 == m2 || filepath.Dir(m1) != filepath.Join(dir, "state", "manifests") {
		t.Fatalf("manifests %s and %s: want two under state/manifests", m1, m2)
	}
	writeTestFile(t, filepath.Join(dirs[0], "f"), "data")
	mustCode(t, efssync(t, []string{"EFSSYNC_CONFIG=" + one}, "run"), 0)
	if _, err := os.Stat(m1); err != nil {
		t.Errorf("a run with EFSSYNC_CONFIG did not use %s: %v", m1, err)
	}
	// The second config's agent runs at the same time without a conflict:
	// hold the first manifest with a live agent would be the same; here a
	// run of `two` simply must not touch m1.
	mustCode(t, efssync(t, nil, "run", "--config", two), 0)
	if _, err := os.Stat(m2); err != nil {
		t.Errorf("second config's manifest %s missing: %v", m2, err)
	}
}

func TestDefaultConfigPath(t *testing.T) {
	t.Parallel()
	r := efssync(t, nil, "run")
	if _, err := os.Stat(defaultConfig); err == nil {
		t.Skip(defaultConfig + " exists on this machine")
	}
	mustCode(t, r, 2)
	if !strings.Contains(r.stderr, defaultConfig) || !strings.Contains(r.stderr, "EFSSYNC_CONFIG") {
		t.Errorf("missing default config: stderr %q should name %s and EFSSYNC_CONFIG", r.stderr, defaultConfig)
	}
}

func TestInitWritesAStarterThatRuns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dirs := mkdirs(t, dir, "src", "dst")
	writeTestFile(t, filepath.Join(dirs[0], "a", "b.txt"), "hello")
	cfg := filepath.Join(dir, "etc", "config.yaml")
	r := efssync(t, nil, "init", "--config", cfg, "--source", dirs[0], "--dest", dirs[1], "--state-dir", filepath.Join(dir, "state"))
	mustCode(t, r, 0)
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(b), "\n#") < 5 {
		t.Errorf("starter config has few comments:\n%s", b)
	}
	mustCode(t, efssync(t, nil, "run", "--config", cfg), 0)
	if got, _ := os.ReadFile(filepath.Join(dirs[1], "a", "b.txt")); string(got) != "hello" {
		t.Errorf("starter config did not sync: %q", got)
	}
	r = efssync(t, []string{"EFSSYNC_CONFIG=" + cfg}, "init", "--source", dirs[0], "--dest", dirs[1])
	mustCode(t, r, 2)
	if !strings.Contains(r.stderr, "already exists") {
		t.Errorf("second init: %q", r.stderr)
	}
	if after, _ := os.ReadFile(cfg); string(after) != string(b) {
		t.Error("init overwrote the configuration")
	}
}

func TestConfigCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dirs := mkdirs(t, dir, "src", "dst")
	cfg := writeConfig(t, dir, job{source: dirs[0], dests: []string{dirs[1]}, extra: "    concurrency: 7\n"})
	r := efssync(t, []string{"EFSSYNC_JOBS_0_CHECKERS=3"}, "config", "check", "--config", cfg)
	mustCode(t, r, 0)
	for _, want := range []string{"concurrency: 7", "checkers: 3", "verify: transferred", "manifest: " + filepath.Join(dir, "state", "manifests", "config-")} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("config check output lacks %q:\n%s", want, r.stdout)
		}
	}
	writeTestFile(t, cfg, "jobs: [{name: x, source: rel, exlude: oops, destinations: [{type: s3, bucket: b, endpoint: 'https://AKIAEXAMPLE:supersecret@s3.example.com'}]}]\n")
	r = efssync(t, nil, "config", "check", "--config", cfg)
	mustCode(t, r, 2)
	if strings.Contains(r.stderr+r.stdout, "supersecret") {
		t.Errorf("config check printed a secret:\n%s", r.stderr)
	}
	for _, want := range []string{"jobs[0].exlude", "jobs[0].source", "jobs[0].destinations[0].endpoint"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("config check errors lack %q:\n%s", want, r.stderr)
		}
	}
}

// verify, run --dry-run and config check work while a watch agent holds the
// manifest, and do not disturb it.
func TestInspectionWhileAnAgentRuns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dirs := mkdirs(t, dir, "src", "dst")
	src, dst := dirs[0], dirs[1]
	writeTestFile(t, filepath.Join(src, "first.ts"), "segment one")
	// The live agent's configuration, and a once-mode configuration of
	// the same job and manifest for the dry run (a dry run of a watch job
	// is another issue's business).
	onceCfg := writeConfig(t, mkdirs(t, dir, "once")[0], job{source: src, dests: []string{dst}})
	cfg := writeConfig(t, dir, job{source: src, dests: []string{dst}, extra: "    mode: watch\n"})
	shared := "manifest: " + quote(filepath.Join(dir, "shared.db")) + "\n"
	for _, c := range []string{cfg, onceCfg} {
		b, _ := os.ReadFile(c)
		writeTestFile(t, c, shared+string(b))
	}
	mustCode(t, efssync(t, nil, "run", "--config", onceCfg), 0) // first.ts recorded
	addr := freeAddr(t)
	b, _ := os.ReadFile(cfg)
	writeTestFile(t, cfg, "metrics: {listen: "+quote(addr)+"}\n"+string(b))
	s := start(t, "run", "--config", cfg)
	// /healthz answers once the agent runs, and so holds the manifest.
	s.waitFor(t, "healthz", func() bool { code, _ := httpGet("http://" + addr + "/healthz"); return code == 200 })
	// The agent holds the manifest: a second agent is refused...
	r := efssync(t, nil, "run", "--config", cfg)
	if r.code == 0 || !strings.Contains(r.stderr, "in use") {
		t.Fatalf("a second agent was not refused: exit %d\n%s", r.code, r.stderr)
	}
	// ...but inspection works.
	r = efssync(t, nil, "verify", "--config", cfg)
	mustCode(t, r, 0)
	r = efssync(t, nil, "run", "--config", onceCfg, "--dry-run")
	mustCode(t, r, 0)
	if strings.Contains(r.stdout, "first.ts") {
		t.Errorf("dry run against the live manifest planned a recorded file:\n%s", r.stdout)
	}
	mustCode(t, efssync(t, nil, "config", "check", "--config", cfg), 0)
	// The agent is unaffected and still replicating.
	writeTestFile(t, filepath.Join(src, "second.ts"), "segment two")
	s.waitFor(t, "second.ts at the destination", func() bool {
		_, err := os.Stat(filepath.Join(dst, "second.ts"))
		return err == nil
	})
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-s.done
}

// A missing source is named by its key; a missing destination root is
// named once, with its key and the mount hint; the rest still runs. (Two
// jobs can no longer share one destination directory: overlap is exit 2.)
func TestMissingSourceAndDestinationNamedOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dirs := mkdirs(t, dir, "src", "ok/a", "ok/b")
	writeTestFile(t, filepath.Join(dirs[0], "f"), "x")
	goneB, goneC := filepath.Join(dir, "mnt", "efs", "b"), filepath.Join(dir, "mnt", "efs", "c")
	cfg := filepath.Join(dir, "c.yaml")
	writeTestFile(t, cfg, "state_dir: "+quote(filepath.Join(dir, "state"))+"\njobs:\n"+
		"  - name: a\n    source: "+quote(filepath.Join(dir, "nosrc"))+"\n    destinations: [{type: fs, path: "+quote(dirs[1])+"}]\n"+
		"  - name: b\n    source: "+quote(dirs[0])+"\n    destinations: [{type: fs, path: "+quote(goneB)+"}, {type: fs, path: "+quote(dirs[2])+"}]\n"+
		"  - name: c\n    source: "+quote(dirs[0])+"\n    destinations: [{type: fs, path: "+quote(goneC)+"}]\n")
	r := efssync(t, nil, "run", "--config", cfg)
	mustCode(t, r, 1)
	if !strings.Contains(r.stderr, "jobs[0].source") {
		t.Errorf("missing source not named by its key:\n%s", r.stderr)
	}
	for _, gone := range []string{goneB, goneC} {
		if n := strings.Count(r.stderr, gone); n != 1 {
			t.Errorf("missing destination %s named %d times, want once:\n%s", gone, n, r.stderr)
		}
	}
	if !strings.Contains(r.stderr, "jobs[1].destinations[0].path") || !strings.Contains(r.stderr, "mounted") {
		t.Errorf("missing destination lacks its key or the mount hint:\n%s", r.stderr)
	}
	if got, _ := os.ReadFile(filepath.Join(dirs[2], "f")); string(got) != "x" {
		t.Error("job b's usable destination was not synced")
	}
}

// An S3 destination whose endpoint is down is one error at start, quickly.
func TestS3EndpointDownIsOneErrorAtStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dirs := mkdirs(t, dir, "src")
	writeTestFile(t, filepath.Join(dirs[0], "a"), "1")
	writeTestFile(t, filepath.Join(dirs[0], "b"), "2")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + ln.Addr().String()
	ln.Close()
	cfg := filepath.Join(dir, "c.yaml")
	writeTestFile(t, cfg, "state_dir: "+quote(filepath.Join(dir, "state"))+"\njobs:\n  - name: arch\n    source: "+quote(dirs[0])+
		"\n    destinations: [{type: s3, name: archive, bucket: bkt, region: us-east-1, path_style: true, endpoint: "+quote(endpoint)+"}]\n")
	began := time.Now()
	r := efssync(t, []string{"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test-secret"}, "run", "--config", cfg)
	took := time.Since(began)
	mustCode(t, r, ExitNothingDone)
	if n := strings.Count(r.stderr, "unreachable"); n != 1 || !strings.Contains(r.stderr, "archive") {
		t.Errorf("want one error naming the destination as unreachable, got %d:\n%s", n, r.stderr)
	}
	if took > 10*time.Second {
		t.Errorf("a down endpoint took %v to report", took)
	}
	if strings.Contains(r.stderr, "SDK 20") {
		t.Errorf("raw SDK log line in the JSON log:\n%s", r.stderr)
	}
}

func TestMetricsPortInUseFailsAtStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dirs := mkdirs(t, dir, "src", "dst")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := writeConfig(t, dir, job{source: dirs[0], dests: []string{dirs[1]}})
	b, _ := os.ReadFile(cfg)
	writeTestFile(t, cfg, "metrics: {listen: "+quote(ln.Addr().String())+"}\n"+string(b))
	writeTestFile(t, filepath.Join(dirs[0], "f"), "x")
	r := efssync(t, nil, "run", "--config", cfg)
	mustCode(t, r, 2)
	if !strings.Contains(r.stderr, "metrics.listen") {
		t.Errorf("error does not name metrics.listen:\n%s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dirs[1], "f")); err == nil {
		t.Error("the run went ahead with its metrics port in use")
	}
}

// Once mode writes a node_exporter textfile: every counter at 0 from the
// start, a last-success time that a failed run keeps.
func TestMetricsTextfile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dirs := mkdirs(t, dir, "src", "dst", "prom")
	prom := filepath.Join(dirs[2], "efssync.prom")
	cfg := writeConfig(t, dir, job{source: dirs[0], dests: []string{dirs[1]}})
	b, _ := os.ReadFile(cfg)
	writeTestFile(t, cfg, "metrics: {textfile: "+quote(prom)+"}\n"+string(b))
	mustCode(t, efssync(t, nil, "run", "--config", cfg), 0) // empty source: nothing published
	got, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	text := string(got)
	for _, want := range []string{
		`efssync_files_total{dest="` + dirs[1] + `",job="e2e"} 0`,
		`efssync_errors_total{dest="` + dirs[1] + `",job="e2e"} 0`,
		`efssync_bytes_total{dest="` + dirs[1] + `",job="e2e"} 0`,
		`efssync_destination_up{dest="` + dirs[1] + `",job="e2e"} 1`,
		`efssync_job_restarts_total{job="e2e"} 0`,
		"efssync_last_run_success 1",
		"efssync_last_success_timestamp_seconds ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("textfile lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "go_goroutines") {
		t.Error("textfile carries go_ series, which node_exporter exports itself")
	}
	success := lineWithPrefix(text, "efssync_last_success_timestamp_seconds ")
	// A failed run (destination gone) keeps the last success.
	if err := os.RemoveAll(dirs[1]); err != nil {
		t.Fatal(err)
	}
	mustCode(t, efssync(t, nil, "run", "--config", cfg), ExitNothingDone)
	got, _ = os.ReadFile(prom)
	if !strings.Contains(string(got), "efssync_last_run_success 0") || lineWithPrefix(string(got), "efssync_last_success_timestamp_seconds ") != success {
		t.Errorf("after a failed run:\n%s\nwant success 0 and the last success kept (%s)", got, success)
	}
	if left, _ := filepath.Glob(filepath.Join(dirs[2], ".*")); len(left) > 0 {
		t.Errorf("temp files left beside the textfile: %v", left)
	}
}

func lineWithPrefix(text, prefix string) string {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			return sc.Text()
		}
	}
	return ""
}

func TestReportToStdoutAndRetention(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dirs := mkdirs(t, dir, "src", "dst")
	writeTestFile(t, filepath.Join(dirs[0], "f"), "x")
	cfg := writeConfig(t, dir, job{source: dirs[0], dests: []string{dirs[1]}})
	r := efssync(t, nil, "run", "--config", cfg, "--report", "-")
	mustCode(t, r, 0)
	if !strings.Contains(r.stdout, `"path":"f"`) || !strings.Contains(r.stdout, `"status":"copied"`) {
		t.Errorf("--report - wrote no report lines to stdout:\n%s", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "-")); err == nil {
		t.Error(`--report - created a file named "-"`)
	}
	b, _ := os.ReadFile(cfg)
	writeTestFile(t, cfg, "reports: {keep: 2}\n"+string(b))
	for range 4 {
		mustCode(t, efssync(t, nil, "run", "--config", cfg), 0)
	}
	// Pruned at the start of each run: 2 kept plus the last run's own.
	if got, _ := filepath.Glob(filepath.Join(dir, "state", "reports", "run-*.jsonl")); len(got) != 3 {
		t.Errorf("reports kept: %d (%v), want 3", len(got), got)
	}
}

func TestLogLevelFlagIsValidated(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dirs := mkdirs(t, dir, "src", "dst")
	cfg := writeConfig(t, dir, job{source: dirs[0], dests: []string{dirs[1]}})
	r := efssync(t, nil, "run", "--config", cfg, "--log-level", "verbose")
	mustCode(t, r, 2)
	if !strings.Contains(r.stderr, "--log-level") {
		t.Errorf("stderr %q does not name --log-level", r.stderr)
	}
}

// Under journald (JOURNAL_STREAM names stderr), each line carries its
// syslog priority, so `journalctl -p err` finds the errors.
func TestJournalPriorities(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dirs := mkdirs(t, dir, "src")
	cfg := writeConfig(t, dir, job{source: dirs[0], dests: []string{filepath.Join(dir, "not-mounted")}})
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(pw.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), commandTimeout)
	defer cancel()
	cmd := command(ctx, []string{"JOURNAL_STREAM=" + itoa(uint64(st.Dev)) + ":" + itoa(st.Ino)}, "run", "--config", cfg)
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	out, _ := readAll(pr)
	_ = cmd.Wait()
	var sawErr, sawInfo bool
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		switch {
		case strings.HasPrefix(l, `<3>{`) && strings.Contains(l, `"level":"ERROR"`):
			sawErr = true
		case strings.HasPrefix(l, `<6>{`) && strings.Contains(l, `"level":"INFO"`):
			sawInfo = true
		case strings.HasPrefix(l, "<3>efssync:"):
			sawErr = true
		default:
			t.Errorf("line without a matching priority prefix: %q", l)
		}
	}
	if !sawErr || !sawInfo {
		t.Errorf("want <3> error and <6> info lines:\n%s", out)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func readAll(f *os.File) (string, error) {
	b, err := io.ReadAll(f)
	return string(b), err
}

// A configuration without state_dir: the timer (systemd sets
// STATE_DIRECTORY) and root by hand, from another directory and with a
// relative path, resolve the same manifest.
func TestTimerAndRootByHandShareTheManifest(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("the shared default applies to root, who runs the shipped units")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "migrate.yaml")
	writeTestFile(t, cfg, "jobs: [{name: a, source: /srv/a, destinations: [{type: fs, path: /mnt/efs}]}]\n")
	timer := efssync(t, []string{"STATE_DIRECTORY=/var/lib/efssync"}, "config", "check", "--config", cfg)
	mustCode(t, timer, 0)
	ctx, cancel := context.WithTimeout(t.Context(), commandTimeout)
	defer cancel()
	cmd := command(ctx, nil, "config", "check", "--config", "./migrate.yaml")
	cmd.Dir = dir
	byHand, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^manifest: .*$`)
	if a, b := re.FindString(timer.stdout), re.FindString(string(byHand)); a == "" || a != b {
		t.Errorf("timer %q, by hand %q: want the same manifest", a, b)
	}
}

func TestStateEnv(t *testing.T) {
	base := []string{"HOME=/root"}
	if got := stateEnv(base, 0); !slices.Contains(got, "STATE_DIRECTORY=/var/lib/efssync") {
		t.Errorf("root: %v", got)
	}
	if got := stateEnv(base, 1000); slices.Contains(got, "STATE_DIRECTORY=/var/lib/efssync") {
		t.Errorf("a user got root's state directory: %v", got)
	}
	for _, set := range []string{"STATE_DIRECTORY=/x", "XDG_STATE_HOME=/y"} {
		if got := stateEnv([]string{set}, 0); len(got) != 1 {
			t.Errorf("%s was overridden: %v", set, got)
		}
	}
}

// Against a real MinIO: a missing bucket and wrong credentials are each one
// error at start naming the destination; the usable bucket is synced.
func TestS3PreflightOnTheBinary(t *testing.T) {
	t.Parallel()
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "good")
	dir := t.TempDir()
	src := mkdirs(t, dir, "src")[0]
	writeTestFile(t, filepath.Join(src, "rec.mp4"), "recording")
	dest := func(name, bucket string) string {
		return "{type: s3, name: " + name + ", bucket: " + bucket + ", region: us-east-1, path_style: true, endpoint: " + quote(srv.Endpoint) + "}"
	}
	cfg := filepath.Join(dir, "c.yaml")
	writeTestFile(t, cfg, "state_dir: "+quote(filepath.Join(dir, "state"))+"\njobs:\n  - name: arch\n    source: "+quote(src)+
		"\n    destinations: ["+dest("kept", "good")+", "+dest("lost", "missing-bucket")+"]\n")
	creds := []string{"AWS_ACCESS_KEY_ID=" + srv.AccessKey, "AWS_SECRET_ACCESS_KEY=" + srv.SecretKey}
	r := efssync(t, creds, "run", "--config", cfg)
	mustCode(t, r, 1)
	if n := strings.Count(r.stderr, "the bucket does not exist"); n != 1 || !strings.Contains(r.stderr, "lost") {
		t.Errorf("want one error naming destination lost, got %d:\n%s", n, r.stderr)
	}
	if !strings.Contains(r.stderr, `"copied":1`) {
		t.Errorf("the usable destination was not synced:\n%s", r.stderr)
	}
	r = efssync(t, []string{"AWS_ACCESS_KEY_ID=" + srv.AccessKey, "AWS_SECRET_ACCESS_KEY=wrong-secret"}, "run", "--config", cfg)
	mustCode(t, r, ExitNothingDone)
	if n := strings.Count(r.stderr, "access denied"); n != 2 || !strings.Contains(r.stderr, `"copied":0`) {
		t.Errorf("wrong credentials: want one access-denied error per destination and nothing copied, got %d:\n%s", n, r.stderr)
	}
}

// Without a terminal, a run that takes longer than progress_interval logs
// progress lines with files, bytes, rate and ETA. The bandwidth limit makes
// the run last about 3 s; the interval is 1 s.
func TestProgressLinesWithoutATerminal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dirs := mkdirs(t, dir, "src", "dst")
	writeTestFile(t, filepath.Join(dirs[0], "big"), strings.Repeat("x", 256<<10))
	cfg := writeConfig(t, dir, job{source: dirs[0], dests: []string{dirs[1]}, extra: "    bandwidth: 64KiB\n    chunk_size: 64KiB\n"})
	b, _ := os.ReadFile(cfg)
	writeTestFile(t, cfg, "progress_interval: 1s\n"+string(b))
	r := efssync(t, nil, "run", "--config", cfg)
	mustCode(t, r, 0)
	var m map[string]any
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.Contains(l, `"msg":"progress"`) {
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if m == nil {
		t.Fatalf("no progress line in a 3 s run with progress_interval 1s:\n%s", r.stderr)
	}
	for _, k := range []string{"files", "bytes_published", "bytes_planned", "rate", "eta", "elapsed"} {
		if _, ok := m[k]; !ok {
			t.Errorf("progress line lacks %q: %v", k, m)
		}
	}
}

// No credentials anywhere: the chain ends at the instance metadata service,
// here a local server that refuses (403) like a host without a role. The
// result is one error at start for the destination, and the SDK's own
// warning arrives as a JSON log record, never as a raw "SDK ..." line.
func TestS3NoCredentialsOneErrorAndSDKLogInJSON(t *testing.T) {
	t.Parallel()
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "forbidden", http.StatusForbidden)
	}))
	defer imds.Close()
	dir := t.TempDir()
	src := mkdirs(t, dir, "src")[0]
	writeTestFile(t, filepath.Join(src, "a"), "1")
	cfg := filepath.Join(dir, "c.yaml")
	writeTestFile(t, cfg, "state_dir: "+quote(filepath.Join(dir, "state"))+"\njobs:\n  - name: arch\n    source: "+quote(src)+
		"\n    destinations: [{type: s3, name: archive, bucket: bkt, region: us-east-1, endpoint: \"http://127.0.0.1:1\"}]\n")
	ctx, cancel := context.WithTimeout(t.Context(), commandTimeout)
	defer cancel()
	cmd := command(ctx, []string{"HOME=" + dir, "AWS_EC2_METADATA_SERVICE_ENDPOINT=" + imds.URL}, "run", "--config", cfg)
	var env []string
	for _, kv := range cmd.Env {
		if !strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") && !strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=") &&
			!strings.HasPrefix(kv, "AWS_PROFILE=") && !strings.HasPrefix(kv, "AWS_SESSION_TOKEN=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitNothingDone {
		t.Fatalf("exit: %v, want %d (the only destination is unusable)\n%s", err, ExitNothingDone, stderr.String())
	}
	out := stderr.String()
	if n := strings.Count(out, "no usable AWS credentials"); n != 1 || !strings.Contains(out, "archive") {
		t.Errorf("want one credentials error naming the destination, got %d:\n%s", n, out)
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(l, "{") {
			t.Errorf("a line that is not JSON in the JSON log: %q", l)
		}
	}
	if !strings.Contains(out, `"component":"aws-sdk"`) {
		t.Errorf("the SDK's IMDS warning is not in the log as a JSON record:\n%s", out)
	}
}

// On a terminal, a log line clears the progress bar and the bar is drawn
// again after it. Job a takes about a second (bandwidth), so the bar is on
// screen when job b's file fails at once (a directory stands in its way at
// the destination). script(1) gives the binary a terminal.
func TestProgressBarStepsAsideForLogLines(t *testing.T) {
	t.Parallel()
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("script(1) (util-linux) is required with CI=true")
		}
		t.Skip("script(1) not installed")
	}
	dir := t.TempDir()
	d := mkdirs(t, dir, "srcA", "dstA", "srcB", "dstB/x/keep")
	writeTestFile(t, filepath.Join(d[0], "slow"), strings.Repeat("s", 128<<10))
	writeTestFile(t, filepath.Join(d[2], "x"), "a file where the destination has a directory")
	cfg := filepath.Join(dir, "c.yaml")
	writeTestFile(t, cfg, "state_dir: "+quote(filepath.Join(dir, "state"))+"\njobs:\n"+
		"  - {name: a, source: "+quote(d[0])+", bandwidth: 64KiB, chunk_size: 64KiB, destinations: [{type: fs, path: "+quote(d[1])+"}]}\n"+
		"  - {name: b, source: "+quote(d[2])+", destinations: [{type: fs, path: "+quote(filepath.Join(dir, "dstB"))+"}]}\n")
	ctx, cancel := context.WithTimeout(t.Context(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, scriptBin, "-qfec", binPath+" run --config "+cfg, "/dev/null")
	out, _ := cmd.Output()
	s := string(out)
	bar := regexp.MustCompile("\r\x1b\\[K(?:[a-z]+: )?[0-9]+ files \\(") // the job's name, then its counts
	if !bar.MatchString(s) {
		t.Fatalf("no progress bar on the terminal:\n%q", s)
	}
	// Clear, the log line, then the bar again.
	stepAside := regexp.MustCompile("\r\x1b\\[Ktime=[^\r\n]* level=ERROR msg=failed[^\n]*\n\r\x1b\\[K(?:[a-z]+: )?[0-9]+ files \\(")
	if !stepAside.MatchString(s) {
		t.Errorf("the failure's log line did not clear and redraw the bar:\n%q", s)
	}
	if regexp.MustCompile("ETA [^\r\n]*time=").MatchString(s) {
		t.Errorf("a log line is glued onto the bar:\n%q", s)
	}
}
