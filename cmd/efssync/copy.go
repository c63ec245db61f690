package main

// `efssync copy SRC DST...` and `efssync sync SRC DST...`: one-off runs
// without a configuration file. They build a one-job configuration and run
// it through the same engine, validation and safety rules as `run`.

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/efssync/efssync/config"
)

const copyExamples = `  # copy a tree into a mounted EFS file system; a second run copies only what changed
  efssync copy /srv/media /mnt/efs/media
  # archive to S3, then restore it elsewhere
  efssync copy /srv/media s3://my-bucket/media
  efssync copy s3://my-bucket/media /srv/restore
  # MinIO or another S3-compatible service
  efssync copy /srv/media s3://bucket/media --s3-endpoint http://127.0.0.1:9000
  # two replicas at once, what would be copied, one line per file
  efssync copy -n -v /srv/media /mnt/efs-a/media /mnt/efs-b/media`

const syncExamples = `  # make the destination match the source, deleting at most 10% of its files (the default)
  efssync sync /srv/media /mnt/efs/media
  # see first what would be deleted
  efssync sync -n -v /srv/media /mnt/efs/media
  # allow up to 5000 deletes
  efssync sync /srv/media s3://my-bucket/media --max-delete 5000`

// oneOffJob is the job name of copy and sync: the same for both, so a sync
// after a copy of the same pair finds the copy's manifest records.
const oneOffJob = "cli"

// copyFlags are the flags copy and sync add to the shared ones.
type copyFlags struct {
	endpoint, region string
	pathStyle        bool
	noManifest       bool
}

func newCopyCmd(g *globals, mirror bool) *cobra.Command {
	f := &runFlags{}
	cf := &copyFlags{}
	cmd := &cobra.Command{
		Use:   "copy SRC DST...",
		Short: "Copy a directory or s3://bucket/prefix to directories or one S3 prefix, without a configuration file",
		Long: "Copy SRC to every DST, like one job of a configuration with delete: never. SRC and DST are directories\n" +
			"or s3://bucket/prefix (not both S3). The manifest lives in the state directory under a name derived\n" +
			"from SRC and DST, so the next copy of the same pair sends only what changed (--no-manifest: start\n" +
			"from nothing and keep nothing). The S3 endpoint and region come from AWS_ENDPOINT_URL_S3,\n" +
			"AWS_ENDPOINT_URL and AWS_REGION, or from the flags; credentials from the AWS credential chain.",
		Example: copyExamples,
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, cleanup, err := oneOffConfig(args, mirror, cf, f.set, os.Environ())
			if err != nil {
				return err
			}
			defer cleanup()
			if err := f.apply(cfg); err != nil {
				return err
			}
			return execRun(cmd.Context(), g, cfg, f, nil)
		},
	}
	if mirror {
		cmd.Use = "sync SRC DST..."
		cmd.Short = "Make directories or one S3 prefix match SRC, deleting what SRC lacks (within --max-delete)"
		cmd.Long = strings.Replace(cmd.Long, "Copy SRC to every DST, like one job of a configuration with delete: never.",
			"Make every DST match SRC, like one job of a configuration with delete: mirror: what SRC lacks\n"+
				"is deleted at DST, at most --max-delete (default 10%) per run.", 1)
		cmd.Example = syncExamples
	}
	f.register(cmd, false)
	cmd.Flags().StringVar(&cf.endpoint, "s3-endpoint", "", "S3 endpoint URL (default $AWS_ENDPOINT_URL_S3, else $AWS_ENDPOINT_URL, else AWS)")
	cmd.Flags().StringVar(&cf.region, "s3-region", "", "S3 region (default $AWS_REGION)")
	cmd.Flags().BoolVar(&cf.pathStyle, "s3-path-style", false, "address the bucket in the URL path (default true when an endpoint is set, as MinIO needs)")
	cmd.Flags().BoolVar(&cf.noManifest, "no-manifest", false, "use a throwaway manifest: copy everything, remember nothing (no report unless --report)")
	return cmd
}

// location is one SRC or DST argument.
type location struct {
	path string // absolute; empty for S3
	s3   config.S3Location
}

func (l location) isS3() bool { return l.path == "" }

// key names the location for the manifest's name: the same place always
// gives the same key.
func (l location) key() string {
	if l.isS3() {
		return "s3\x00" + l.s3.Endpoint + "\x00" + l.s3.Bucket + "\x00" + l.s3.Prefix
	}
	return "fs\x00" + l.path
}

// parseLocation reads a path or s3://bucket/prefix argument.
func parseLocation(arg string, cf *copyFlags, env []string) (location, error) {
	rest, ok := strings.CutPrefix(arg, "s3://")
	if !ok {
		if arg == "" {
			return location{}, errors.New("an empty path")
		}
		abs, err := filepath.Abs(arg)
		if err != nil {
			return location{}, fmt.Errorf("%s: %w", arg, err)
		}
		return location{path: abs}, nil
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return location{}, fmt.Errorf("%s: no bucket; write s3://BUCKET/PREFIX", arg)
	}
	loc := config.S3Location{Bucket: bucket, Prefix: strings.Trim(prefix, "/"), Endpoint: cf.endpoint, Region: cf.region, PathStyle: cf.pathStyle}
	if loc.Endpoint == "" {
		loc.Endpoint = firstEnv(env, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
	}
	if loc.Region == "" {
		loc.Region = firstEnv(env, "AWS_REGION", "AWS_DEFAULT_REGION")
	}
	return location{s3: loc}, nil
}

// firstEnv is the first of keys set to a non-empty value in env.
func firstEnv(env []string, keys ...string) string {
	for _, k := range keys {
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, k+"="); ok && v != "" {
				return v
			}
		}
	}
	return ""
}

// oneOffConfig builds the one-job configuration of copy (mirror false) or
// sync. cleanup removes a --no-manifest run's scratch directory.
func oneOffConfig(args []string, mirror bool, cf *copyFlags, set interface{ Changed(string) bool }, env []string) (*config.Config, func(), error) {
	nothing := func() {}
	locs := make([]location, len(args))
	for i, a := range args {
		l, err := parseLocation(a, cf, env)
		if err != nil {
			return nil, nothing, usageError{err}
		}
		if l.isS3() && l.s3.Endpoint != "" && !set.Changed("s3-path-style") {
			l.s3.PathStyle = true
		}
		locs[i] = l
	}
	src, dsts := locs[0], locs[1:]
	for i, d := range dsts {
		if src.isS3() && d.isS3() {
			return nil, nothing, usageError{fmt.Errorf("%s to %s: S3 to S3 is not supported; copy through a directory, or use S3 replication", args[0], args[i+1])}
		}
	}
	job := config.Job{Name: oneOffJob, Delete: "never"}
	if mirror {
		job.Delete = "mirror"
	}
	if src.isS3() {
		job.From = config.Source{Type: "s3", S3Location: src.s3}
	} else {
		job.From = config.Source{Type: "fs", Path: src.path}
	}
	for _, d := range dsts {
		if d.isS3() {
			job.Destinations = append(job.Destinations, config.Destination{Type: "s3", S3Location: d.s3})
		} else {
			job.Destinations = append(job.Destinations, config.Destination{Type: "fs", Path: d.path})
		}
	}
	cfg := &config.Config{Jobs: []config.Job{job}}
	cfg.SetDefaults(stateEnv(env, os.Geteuid()))
	if cf.noManifest {
		dir, err := os.MkdirTemp("", "efssync-no-manifest-")
		if err != nil {
			return nil, nothing, fmt.Errorf("--no-manifest: %w", err)
		}
		cfg.Manifest = filepath.Join(dir, "manifest.db")
		cfg.ReportDir = ""
		return cfg, func() { os.RemoveAll(dir) }, nil
	}
	if cfg.StateDir == "" {
		return nil, nothing, usageError{errors.New("no state directory: set HOME, XDG_STATE_HOME or STATE_DIRECTORY, or use --no-manifest")}
	}
	cfg.Manifest = oneOffManifest(cfg.StateDir, locs)
	return cfg, nothing, nil
}

// oneOffManifest is <state>/manifests/copy-<hash>.db, the hash taken over
// the source and destinations in order, so a second copy or sync of the
// same pair is incremental, and another pair never shares it.
func oneOffManifest(stateDir string, locs []location) string {
	h := sha256.New()
	for _, l := range locs {
		h.Write([]byte(l.key()))
		h.Write([]byte{0xff})
	}
	return filepath.Join(stateDir, "manifests", "copy-"+hex.EncodeToString(h.Sum(nil)[:6])+".db")
}
