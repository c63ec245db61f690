// Package config turns a configuration file plus EFSSYNC_* environment
// variables into a typed, validated Config. It knows nothing of bbolt, S3 or
// files beyond the one it reads: every other package receives values from here.
package config

import "time"

// Config is one agent's whole configuration: where it keeps its state and
// the jobs it runs.
type Config struct {
	// StateDir holds the manifest and reports. Default: $STATE_DIRECTORY,
	// else $XDG_STATE_HOME/efssync, else ~/.local/state/efssync (the
	// command line gives root /var/lib/efssync when STATE_DIRECTORY and
	// XDG_STATE_HOME are unset).
	StateDir string `mapstructure:"state_dir" yaml:"state_dir,omitempty" json:"state_dir,omitempty"`
	// Manifest is the bbolt file. Default: derived from the configuration
	// file's path, see DefaultManifest.
	Manifest string `mapstructure:"manifest" yaml:"manifest,omitempty" json:"manifest,omitempty"`
	// ReportDir receives one JSON-lines report per run. Default: StateDir/reports.
	ReportDir string `mapstructure:"report_dir" yaml:"report_dir,omitempty" json:"report_dir,omitempty"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `mapstructure:"log_level" yaml:"log_level,omitempty" json:"log_level,omitempty"`
	// Metrics configures the Prometheus endpoint; empty Listen disables it.
	Metrics Metrics `mapstructure:"metrics" yaml:"metrics,omitempty" json:"metrics,omitempty"`
	// ProgressInterval is how often a run without a terminal logs a stats
	// line (files, bytes, rate, ETA). Default 1m.
	ProgressInterval Duration `mapstructure:"progress_interval" yaml:"progress_interval,omitempty" json:"progress_interval,omitempty"`
	// Reports bounds the report directory: rotation and retention.
	Reports Reports `mapstructure:"reports" yaml:"reports,omitempty" json:"reports,omitempty"`
	// Shard splits one migration across several agents (config/shard.go).
	Shard ShardSetting `mapstructure:"shard" yaml:"shard,omitempty" json:"shard,omitempty"`
	// Jobs run in order in once mode and concurrently in watch mode.
	Jobs []Job `mapstructure:"jobs" yaml:"jobs,omitempty" json:"jobs,omitempty"`
}

// Metrics is the Prometheus/health endpoint, for operators who alert on lag.
type Metrics struct {
	// Listen is host:port, e.g. ":9090" or "127.0.0.1:9090".
	Listen string `mapstructure:"listen" yaml:"listen,omitempty" json:"listen,omitempty"`
	// Textfile, when set, is a node_exporter textfile-collector file
	// (*.prom) written at the end of every once-mode run, with the run's
	// counters and efssync_last_success_timestamp_seconds, so a failed
	// timer-driven run can be alerted on.
	Textfile string `mapstructure:"textfile" yaml:"textfile,omitempty" json:"textfile,omitempty"`
}

// Job is one source directory, its destinations and its rules.
type Job struct {
	// Name identifies the job in the manifest, reports and metrics; it may
	// contain only letters, digits, '.', '_' and '-' and must be unique.
	Name string `mapstructure:"name" yaml:"name,omitempty" json:"name,omitempty"`
	// Source is the absolute path of the tree to replicate when the
	// source is a directory, empty for an S3 source. SetDefaults derives it
	// from From; code that builds a Job may set it instead of From.
	Source string `mapstructure:"-" yaml:"-" json:"-"`
	// From is the job's source as written under the key "source": an
	// absolute path, or an S3 bucket and prefix to restore from.
	From Source `mapstructure:"source" yaml:"source,omitempty" json:"source,omitempty"`
	// Destinations receive every file; at least one.
	Destinations []Destination `mapstructure:"destinations" yaml:"destinations,omitempty" json:"destinations,omitempty"`
	// Mode is once (default) or watch.
	Mode string `mapstructure:"mode" yaml:"mode,omitempty" json:"mode,omitempty"`
	// Include and Exclude are doublestar globs ("**/*.ts") matched against
	// paths relative to Source. A single string is read as a list of one.
	// With Include set, only matching paths are synced.
	Include []string `mapstructure:"include" yaml:"include,omitempty" json:"include,omitempty"`
	// Exclude leaves matching paths out, even when Include matches them.
	Exclude []string `mapstructure:"exclude" yaml:"exclude,omitempty" json:"exclude,omitempty"`
	// Delete is never (default) or mirror.
	Delete string `mapstructure:"delete" yaml:"delete,omitempty" json:"delete,omitempty"`
	// MaxDelete bounds a mirror delete: a count ("1000") or a percentage
	// ("10%") of the files known at the destination. Default "10%".
	MaxDelete string `mapstructure:"max_delete" yaml:"max_delete,omitempty" json:"max_delete,omitempty"`
	// Concurrency bounds the files in flight. Default 64, measured on the
	// simulated EFS mount (docs/BENCHMARKS.md, "Concurrency").
	Concurrency int `mapstructure:"concurrency" yaml:"concurrency,omitempty" json:"concurrency,omitempty"`
	// Checkers bounds the goroutines that stat and plan. Default 8.
	Checkers int `mapstructure:"checkers" yaml:"checkers,omitempty" json:"checkers,omitempty"`
	// Bandwidth is bytes per second shared by the whole job; 0 is unlimited.
	Bandwidth Size `mapstructure:"bandwidth" yaml:"bandwidth,omitempty" json:"bandwidth,omitempty"`
	// BwLimit is the bandwidth as a plain rate or as rclone's timetable
	// ("08:00,512k 19:00,off"; config/bwlimit.go). A plain rate is copied
	// into Bandwidth.
	BwLimit BwLimit `mapstructure:"bwlimit" yaml:"bwlimit,omitempty" json:"bwlimit,omitempty"`
	// ChunkSize is the read buffer size. Default 1MiB.
	ChunkSize Size `mapstructure:"chunk_size" yaml:"chunk_size,omitempty" json:"chunk_size,omitempty"`
	// Verify is none, transferred (default) or all.
	Verify string `mapstructure:"verify" yaml:"verify,omitempty" json:"verify,omitempty"`
	// Checksum re-hashes files that look unchanged.
	Checksum bool `mapstructure:"checksum" yaml:"checksum,omitempty" json:"checksum,omitempty"`
	// Xattrs copies extended attributes to fs destinations.
	Xattrs bool `mapstructure:"xattrs" yaml:"xattrs,omitempty" json:"xattrs,omitempty"`
	// Publish is atomic (default: temp file then rename) or progressive.
	Publish string `mapstructure:"publish" yaml:"publish,omitempty" json:"publish,omitempty"`
	// Order lists publication-ordering rules: "hls" (playlists) and
	// "dash" (MPD manifests). A manifest is published at a destination
	// only after every segment, init and key file it names is complete
	// there (up to the bytes it names, for byte ranges), and a segment is
	// deleted there only when no published manifest names it.
	Order []string `mapstructure:"order" yaml:"order,omitempty" json:"order,omitempty"`
	// Rescan is the watch-mode full rescan period. Default 10m.
	Rescan Duration `mapstructure:"rescan" yaml:"rescan,omitempty" json:"rescan,omitempty"`
	// Quiet is how long a growing file must not change to count as
	// finished in watch mode. Default 2s.
	Quiet Duration `mapstructure:"quiet" yaml:"quiet,omitempty" json:"quiet,omitempty"`
	// Finished, when Quiet is set, uploads a file only after it has not
	// changed for that long (archiving).
	Finished Finished `mapstructure:"finished" yaml:"finished,omitempty" json:"finished,omitempty"`
	// AfterArchive is keep (default) or delete: remove the source after
	// its copy at every destination is verified.
	AfterArchive string `mapstructure:"after_archive" yaml:"after_archive,omitempty" json:"after_archive,omitempty"`
	// Adopt is true (default), verify or false: whether an entry the
	// manifest has no record of, but that a destination already holds
	// with the source's type, size and mtime, is recorded instead of
	// copied again (config/adopt.go).
	Adopt string `mapstructure:"adopt" yaml:"adopt,omitempty" json:"adopt,omitempty"`
	// CheckDestination stats every destination entry during a run and
	// sends again what is missing or differs from the manifest's record,
	// repairing drift made behind efssync's back. Off by default: an
	// unchanged run then touches no destination.
	CheckDestination bool `mapstructure:"check_destination" yaml:"check_destination,omitempty" json:"check_destination,omitempty"`
}

// Finished is the archive rule: what counts as a finished file.
type Finished struct {
	// Quiet is how long a file must not have changed before it is
	// uploaded; 0 (default) turns the rule off.
	Quiet Duration `mapstructure:"quiet" yaml:"quiet,omitempty" json:"quiet,omitempty"`
}

// Destination is one replica: a mounted directory (type fs) or an S3 bucket
// and prefix (type s3).
type Destination struct {
	// Type is fs or s3.
	Type string `mapstructure:"type" yaml:"type,omitempty" json:"type,omitempty"`
	// Name identifies the destination in reports and the manifest.
	// Default: the path, or s3://bucket/prefix.
	Name string `mapstructure:"name" yaml:"name,omitempty" json:"name,omitempty"`
	// Path is the root directory of an fs destination.
	Path string `mapstructure:"path" yaml:"path,omitempty" json:"path,omitempty"`

	// The keys below configure s3 destinations only. Credentials are
	// never configured here: they come from the AWS credential chain.

	S3Location `mapstructure:",squash" yaml:",inline"`
	// StorageClass is the class new objects are stored in (STANDARD_IA...).
	StorageClass string `mapstructure:"storage_class" yaml:"storage_class,omitempty" json:"storage_class,omitempty"`
	// SSE is the server-side encryption: empty, AES256 or aws:kms.
	SSE string `mapstructure:"sse" yaml:"sse,omitempty" json:"sse,omitempty"`
	// KMSKeyID picks the KMS key of sse: aws:kms.
	KMSKeyID string `mapstructure:"kms_key_id" yaml:"kms_key_id,omitempty" json:"kms_key_id,omitempty"`
	// Tags are set on every object, for billing and lifecycle rules; at
	// most 7, as efssync keeps 3 of S3's 10.
	Tags map[string]string `mapstructure:"tags" yaml:"tags,omitempty" json:"tags,omitempty"`
	// PartSize is the multipart part size of large files.
	PartSize Size `mapstructure:"part_size" yaml:"part_size,omitempty" json:"part_size,omitempty"`
	// PartConcurrency is how many parts of one file upload at once.
	PartConcurrency int `mapstructure:"part_concurrency" yaml:"part_concurrency,omitempty" json:"part_concurrency,omitempty"`
}

// Reports bounds the JSON-lines reports of long-running agents.
type Reports struct {
	// MaxSize starts a new report file once the current one reaches it;
	// 0 (default) never rotates by size.
	MaxSize Size `mapstructure:"max_size" yaml:"max_size,omitempty" json:"max_size,omitempty"`
	// MaxAge starts a new report file once the current one is this old;
	// 0 (default) never rotates by age.
	MaxAge Duration `mapstructure:"max_age" yaml:"max_age,omitempty" json:"max_age,omitempty"`
	// Keep is how many report files are kept; older ones are removed at
	// the start of a run and at each rotation. 0 (default) keeps all.
	Keep int `mapstructure:"keep" yaml:"keep,omitempty" json:"keep,omitempty"`
	// Retention removes report files older than this; 0 keeps them.
	Retention Duration `mapstructure:"retention" yaml:"retention,omitempty" json:"retention,omitempty"`
}

// Size is a byte count written like "8MiB", "500k" or "1048576".
type Size int64

// Duration is a time.Duration written like "5s" or "10m".
type Duration time.Duration
