package main

// Checks of the unit files in systemd/: systemd itself must accept them, and
// the hardening the project promises operators must stay in place.

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// unitDir is the repository's systemd/ directory, relative to this package.
const unitDir = "../../systemd"

// installedBinary is the ExecStart path the units ship with.
const installedBinary = "/usr/local/bin/efssync"

var unitFiles = []string{"efssync-migrate.service", "efssync-migrate.timer", "efssync.service", "efssync@.service"}

// directives parses a unit file into "Section.Key" → values, in order.
func directives(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Errorf("%s: malformed line %q", path, line)
				continue
			}
			key := section + "." + strings.TrimSpace(k)
			out[key] = append(out[key], strings.TrimSpace(v))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// hardening lists directives both services must carry, with the value each
// must have ("" means any value).
var hardening = map[string]string{
	"Service.NoNewPrivileges":         "yes",
	"Service.ProtectSystem":           "strict",
	"Service.ProtectHome":             "read-only",
	"Service.PrivateTmp":              "yes",
	"Service.PrivateDevices":          "yes",
	"Service.ProtectKernelTunables":   "yes",
	"Service.ProtectKernelModules":    "yes",
	"Service.ProtectControlGroups":    "yes",
	"Service.RestrictSUIDSGID":        "yes",
	"Service.RestrictNamespaces":      "yes",
	"Service.LockPersonality":         "yes",
	"Service.SystemCallArchitectures": "native",
	"Service.SystemCallFilter":        "@system-service",
	"Service.StateDirectory":          "efssync",
	"Service.StateDirectoryMode":      "0700",
	"Service.ReadWritePaths":          "",
	"Service.RestrictAddressFamilies": "",
}

// neededCaps are what efssync needs to recreate owners, modes and times of
// files it does not own, and to read any source file.
var neededCaps = []string{"CAP_CHOWN", "CAP_FOWNER", "CAP_DAC_READ_SEARCH", "CAP_DAC_OVERRIDE", "CAP_FSETID"}

func TestSystemdUnitDirectives(t *testing.T) {
	t.Parallel()
	units := map[string]map[string][]string{}
	for _, u := range unitFiles {
		units[u] = directives(t, filepath.Join(unitDir, u))
	}
	want := func(unit, key, value string) {
		t.Helper()
		got, ok := units[unit][key]
		switch {
		case !ok:
			t.Errorf("%s: %s is missing", unit, key)
		case value != "" && !slices.Contains(got, value):
			t.Errorf("%s: %s=%v, want %s", unit, key, got, value)
		}
	}
	for _, u := range []string{"efssync-migrate.service", "efssync.service", "efssync@.service"} {
		for k, v := range hardening {
			want(u, k, v)
		}
		caps := strings.Fields(strings.Join(units[u]["Service.CapabilityBoundingSet"], " "))
		for _, c := range neededCaps {
			if !slices.Contains(caps, c) {
				t.Errorf("%s: CapabilityBoundingSet lacks %s, so efssync could not keep owners and modes", u, c)
			}
		}
		for _, c := range caps {
			if !slices.Contains(neededCaps, c) {
				t.Errorf("%s: CapabilityBoundingSet grants %s, which efssync does not need", u, c)
			}
		}
		for _, p := range units[u]["Service.ProcSubset"] {
			if p == "pid" {
				t.Errorf("%s: ProcSubset=pid hides /proc/locks, which names the holder of a busy manifest", u)
			}
		}
	}

	want("efssync-migrate.service", "Service.Type", "oneshot")
	want("efssync-migrate.service", "Service.ExecStart", installedBinary+" run --config /etc/efssync/config.yaml")
	if _, ok := units["efssync-migrate.service"]["Install.WantedBy"]; ok {
		t.Errorf("efssync-migrate.service: has [Install]; the timer starts it")
	}

	want("efssync-migrate.timer", "Timer.Persistent", "yes")
	want("efssync-migrate.timer", "Timer.OnCalendar", "")
	want("efssync-migrate.timer", "Timer.RandomizedDelaySec", "")
	want("efssync-migrate.timer", "Timer.Unit", "efssync-migrate.service")
	want("efssync-migrate.timer", "Install.WantedBy", "timers.target")

	want("efssync.service", "Service.Type", "notify")
	want("efssync.service", "Service.NotifyAccess", "main")
	want("efssync.service", "Service.WatchdogSec", "30s")
	want("efssync.service", "Service.Restart", "on-failure")
	want("efssync.service", "Service.RestartPreventExitStatus", "2")
	want("efssync.service", "Service.ExecReload", "/bin/kill -HUP $MAINPID")
	want("efssync.service", "Service.TimeoutStopSec", "30")
	want("efssync.service", "Service.ExecStart", installedBinary+" run --config /etc/efssync/live.yaml")
	want("efssync.service", "Install.WantedBy", "multi-user.target")

	// The template is efssync.service for any /etc/efssync/NAME.yaml.
	for k, v := range units["efssync.service"] {
		if !strings.HasPrefix(k, "Service.") && !strings.HasPrefix(k, "Install.") {
			continue
		}
		w := strings.ReplaceAll(strings.Join(v, "\n"), "/etc/efssync/live.yaml", "/etc/efssync/%i.yaml")
		if got := strings.Join(units["efssync@.service"][k], "\n"); got != w {
			t.Errorf("efssync@.service: %s=%q, efssync.service has %q", k, got, w)
		}
	}
	want("efssync@.service", "Unit.ConditionPathExists", "/etc/efssync/%i.yaml")
}

// TestSystemdAnalyzeVerify has systemd check the units of systemd/.
func TestSystemdAnalyzeVerify(t *testing.T) {
	t.Parallel()
	analyzeVerify(t, unitDir, installedBinary, binPath)
}

// analyzeVerify runs systemd-analyze verify on the units in dir. verify
// insists that ExecStart names an existing executable, so it checks copies
// in which the path bin the units run is replaced by the binary at exe. Any
// output (verify exits 0 on unknown keys, only warning) fails the test.
func analyzeVerify(t *testing.T, dir, bin, exe string) {
	t.Helper()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		requireCI(t, "systemd-analyze not found (Debian: apt-get install systemd): %v", err)
	}
	copies := t.TempDir()
	var paths []string
	for _, u := range unitFiles {
		b, err := os.ReadFile(filepath.Join(dir, u))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(b), bin, exe)
		p := filepath.Join(copies, u)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	cmd := exec.Command(analyze, append([]string{"verify"}, paths...)...)
	// Unit search starts in the copies' directory, so the timer finds its
	// service.
	cmd.Dir = copies
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", dir, err, out)
	}
}
