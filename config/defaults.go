package config

import (
	"path/filepath"
	"strings"
)

// Default values, named so that callers and documentation can refer to them.
const (
	DefaultLogLevel        = "info"
	DefaultMode            = "once"
	DefaultDelete          = "never"
	DefaultMaxDelete       = "10%"
	DefaultConcurrency     = 64
	DefaultCheckers        = 8
	DefaultChunkSize       = Size(1 << 20)
	DefaultVerify          = "transferred"
	DefaultPublish         = "atomic"
	DefaultRescan          = Duration(10 * 60 * 1e9)
	DefaultQuiet           = Duration(2 * 1e9)
	DefaultAfterArchive    = "keep"
	DefaultPartSize        = Size(16 << 20)
	DefaultPartConcurrency = 4
	// DefaultProgressInterval keeps a long migration under systemd from
	// being silent without flooding the journal.
	DefaultProgressInterval = Duration(60 * 1e9)
)

// SetDefaults fills every unset (zero) field with its default. Load calls it
// after decoding; code that builds a Config by hand (tests, other packages)
// calls it before Validate. env supplies STATE_DIRECTORY (set by systemd's
// StateDirectory=), XDG_STATE_HOME and HOME for the state directory. A zero
// duration or count cannot be told from an unset one, so it takes the
// default too.
func (c *Config) SetDefaults(env []string) {
	if c.StateDir == "" {
		c.StateDir = defaultStateDir(env)
	}
	if c.StateDir != "" {
		if c.Manifest == "" {
			c.Manifest = filepath.Join(c.StateDir, "manifest.db")
		}
		if c.ReportDir == "" {
			c.ReportDir = filepath.Join(c.StateDir, "reports")
		}
	}
	if c.LogLevel == "" {
		c.LogLevel = DefaultLogLevel
	}
	if c.ProgressInterval == 0 {
		c.ProgressInterval = DefaultProgressInterval
	}
	for i := range c.Jobs {
		c.Jobs[i].setDefaults()
	}
}

// defaultStateDir follows systemd and the XDG base-directory spec.
func defaultStateDir(env []string) string {
	if v, ok := lookupEnv(env, "STATE_DIRECTORY"); ok {
		for _, d := range strings.Split(v, ":") {
			if d != "" {
				return d
			}
		}
	}
	// The XDG spec says relative values are invalid and must be ignored.
	if v, ok := lookupEnv(env, "XDG_STATE_HOME"); ok && filepath.IsAbs(v) {
		return filepath.Join(v, "efssync")
	}
	if v, ok := lookupEnv(env, "HOME"); ok && v != "" {
		return filepath.Join(v, ".local", "state", "efssync")
	}
	return ""
}

func (j *Job) setDefaults() {
	j.From = j.source()
	j.From.setDefaults()
	if j.From.Type == "fs" {
		j.Source = j.From.Path
	}
	setString(&j.Mode, DefaultMode)
	setString(&j.Delete, DefaultDelete)
	setString(&j.MaxDelete, DefaultMaxDelete)
	setString(&j.Verify, DefaultVerify)
	setString(&j.Publish, DefaultPublish)
	setString(&j.AfterArchive, DefaultAfterArchive)
	j.setAdoptDefault()
	j.syncBandwidth()
	if j.Concurrency == 0 {
		j.Concurrency = DefaultConcurrency
	}
	if j.Checkers == 0 {
		j.Checkers = DefaultCheckers
	}
	if j.ChunkSize == 0 {
		j.ChunkSize = DefaultChunkSize
	}
	if j.Rescan == 0 {
		j.Rescan = DefaultRescan
	}
	if j.Quiet == 0 {
		j.Quiet = DefaultQuiet
	}
	for i := range j.Destinations {
		j.Destinations[i].setDefaults()
	}
}

func (d *Destination) setDefaults() {
	if d.Name == "" {
		switch d.Type {
		case "fs":
			d.Name = d.Path
		case "s3":
			if d.Bucket != "" {
				d.Name = "s3://" + d.Bucket
				if d.Prefix != "" {
					d.Name += "/" + d.Prefix
				}
			}
		}
	}
	if d.PartSize == 0 {
		d.PartSize = DefaultPartSize
	}
	if d.PartConcurrency == 0 {
		d.PartConcurrency = DefaultPartConcurrency
	}
}

func setString(s *string, def string) {
	if *s == "" {
		*s = def
	}
}
