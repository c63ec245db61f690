// Package config turns a configuration file plus EFSSYNC_* environment
// variables into a typed, validated Config. It knows nothing of bbolt, S3 or
// files beyond the one it reads: every other package receives values from here.
package config

import "time"

// Config is one agent's whole configuration: where it keeps its state and
// the jobs it runs.
type Config struct {
	// StateDir holds the manifest and reports. Default: $STATE_DIRECTORY,
	// else $XDG_STATE_HOME/efssync, else ~/.local/state/efssync.
	StateDir string `mapstructure:"state_dir"`
	// Manifest is the bbolt file. Default: StateDir/manifest.db.
	Manifest string `mapstructure:"manifest"`
	// ReportDir receives one JSON-lines report per run. Default: StateDir/reports.
	ReportDir string `mapstructure:"report_dir"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `mapstructure:"log_level"`
	// Metrics configures the Prometheus endpoint; empty Listen disables it.
	Metrics Metrics `mapstructure:"metrics"`
	Jobs    []Job   `mapstructure:"jobs"`
}

// Metrics is the Prometheus/health endpoint, for operators who alert on lag.
type Metrics struct {
	Listen string `mapstructure:"listen"`
}

// Job is one source directory, its destinations and its rules.
type Job struct {
	Name         string        `mapstructure:"name"`
	Source       string        `mapstructure:"source"`
	Destinations []Destination `mapstructure:"destinations"`
	// Mode is once (default) or watch.
	Mode    string   `mapstructure:"mode"`
	Include []string `mapstructure:"include"`
	Exclude []string `mapstructure:"exclude"`
	// Delete is never (default) or mirror.
	Delete string `mapstructure:"delete"`
	// MaxDelete bounds a mirror delete: a count ("1000") or a percentage
	// ("10%") of the files known at the destination. Default "10%".
	MaxDelete string `mapstructure:"max_delete"`
	// Concurrency bounds the files in flight. Default 32 (tuned for network mounts).
	Concurrency int `mapstructure:"concurrency"`
	// Checkers bounds the goroutines that stat and plan. Default 8.
	Checkers int `mapstructure:"checkers"`
	// Bandwidth is bytes per second shared by the whole job; 0 is unlimited.
	Bandwidth Size `mapstructure:"bandwidth"`
	// ChunkSize is the read buffer size. Default 1MiB.
	ChunkSize Size `mapstructure:"chunk_size"`
	// Verify is none, transferred (default) or all.
	Verify string `mapstructure:"verify"`
	// Checksum re-hashes files that look unchanged.
	Checksum bool `mapstructure:"checksum"`
	// Xattrs copies extended attributes to fs destinations.
	Xattrs bool `mapstructure:"xattrs"`
	// Publish is atomic (default: temp file then rename) or progressive.
	Publish string `mapstructure:"publish"`
	// Order lists ordering rules; "hls" is built in.
	Order []string `mapstructure:"order"`
	// Rescan is the watch-mode full rescan period. Default 10m.
	Rescan Duration `mapstructure:"rescan"`
	// Quiet is how long a growing file must not change to count as
	// finished in watch mode. Default 2s.
	Quiet Duration `mapstructure:"quiet"`
	// Finished, when Quiet is set, uploads a file only after it has not
	// changed for that long (archiving).
	Finished Finished `mapstructure:"finished"`
	// AfterArchive is keep (default) or delete: remove the source after
	// its copy at every destination is verified.
	AfterArchive string `mapstructure:"after_archive"`
}

// Finished is the archive rule: what counts as a finished file.
type Finished struct {
	Quiet Duration `mapstructure:"quiet"`
}

// Destination is one replica: a mounted directory (type fs) or an S3 bucket
// and prefix (type s3).
type Destination struct {
	Type string `mapstructure:"type"`
	// Name identifies the destination in reports and the manifest.
	// Default: the path, or s3://bucket/prefix.
	Name string `mapstructure:"name"`
	// Path is the root directory of an fs destination.
	Path string `mapstructure:"path"`

	Bucket          string            `mapstructure:"bucket"`
	Prefix          string            `mapstructure:"prefix"`
	Region          string            `mapstructure:"region"`
	Endpoint        string            `mapstructure:"endpoint"`
	PathStyle       bool              `mapstructure:"path_style"`
	StorageClass    string            `mapstructure:"storage_class"`
	SSE             string            `mapstructure:"sse"`
	KMSKeyID        string            `mapstructure:"kms_key_id"`
	Tags            map[string]string `mapstructure:"tags"`
	PartSize        Size              `mapstructure:"part_size"`
	PartConcurrency int               `mapstructure:"part_concurrency"`
}

// Size is a byte count written like "8MiB", "500k" or "1048576".
type Size int64

// Duration is a time.Duration written like "5s" or "10m".
type Duration time.Duration
