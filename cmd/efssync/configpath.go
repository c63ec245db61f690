package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/efssync/efssync/config"
)

// defaultConfig is where packages install the configuration and where the
// shipped migration unit reads it, so `efssync run` on a server needs no flag.
const defaultConfig = "/etc/efssync/config.yaml"

// configPath resolves the configuration file: --config, else
// $EFSSYNC_CONFIG, else /etc/efssync/config.yaml. It also says where the
// path came from, for error messages.
func (g *globals) configPath() (path, from string) {
	switch {
	case g.config != "":
		return g.config, "--config"
	case os.Getenv("EFSSYNC_CONFIG") != "":
		return os.Getenv("EFSSYNC_CONFIG"), "EFSSYNC_CONFIG"
	default:
		return defaultConfig, "the default configuration"
	}
}

// loadConfig reads the resolved configuration file. A missing default file
// says how to name another one instead of only "no such file".
func (g *globals) loadConfig() (*config.Config, error) {
	path, from := g.configPath()
	cfg, err := config.Load(path, stateEnv(os.Environ(), os.Geteuid()))
	if err != nil {
		if from == "the default configuration" && errors.Is(err, fs.ErrNotExist) {
			return nil, usageError{fmt.Errorf("%w (no --config given and EFSSYNC_CONFIG is not set; `efssync init` writes a starter file)", err)}
		}
		return nil, usageError{err}
	}
	return cfg, nil
}

// logLevel is --log-level if given, else the configuration's log_level,
// checked against the same values the configuration accepts.
func (g *globals) logLevel(cfg *config.Config) (string, error) {
	if g.logLevelFlag == "" {
		return cfg.LogLevel, nil
	}
	switch g.logLevelFlag {
	case "debug", "info", "warn", "error":
		return g.logLevelFlag, nil
	}
	return "", usageError{fmt.Errorf("--log-level: must be one of debug, info, warn, error, got %q", g.logLevelFlag)}
}

// rootStateDir is systemd's StateDirectory=efssync for system units.
const rootStateDir = "/var/lib/efssync"

// stateEnv gives root the shipped units' state directory when systemd did
// not set one: a run by hand as root then finds the same manifest as the
// timer, instead of starting over in /root/.local/state. Other users keep
// the XDG default.
func stateEnv(env []string, euid int) []string {
	if euid != 0 {
		return env
	}
	for _, kv := range env {
		if strings.HasPrefix(kv, "STATE_DIRECTORY=") || strings.HasPrefix(kv, "XDG_STATE_HOME=") {
			return env
		}
	}
	return append(env, "STATE_DIRECTORY="+rootStateDir)
}
