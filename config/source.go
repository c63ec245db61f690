package config

import (
	"fmt"
	"time"
)

// Source is where a job's files come from, written under a job's "source"
// key: a plain absolute path (a directory, type fs), or a table with
// type: s3 for a restore from a bucket and prefix. The S3 keys and the
// credential chain are those of an S3 destination.
type Source struct {
	// Type is fs (a directory; the default for a plain path) or s3.
	Type string `mapstructure:"type" yaml:"type,omitempty" json:"type,omitempty"`
	// Path is the directory of an fs source.
	Path string `mapstructure:"path" yaml:"path,omitempty" json:"path,omitempty"`

	// S3Location locates an s3 source; its keys mean what they mean for an
	// S3 destination (Destination).
	S3Location `mapstructure:",squash" yaml:",inline"`
	// PartSize is the size of one ranged GET of a large object that was
	// not uploaded in parts (multipart objects are read part by part).
	// Default 16MiB.
	PartSize Size `mapstructure:"part_size" yaml:"part_size,omitempty" json:"part_size,omitempty"`
	// PartConcurrency is how many GETs of one object run at once. Default 4.
	PartConcurrency int `mapstructure:"part_concurrency" yaml:"part_concurrency,omitempty" json:"part_concurrency,omitempty"`
	// AsOf (RFC 3339) restores, from a versioned bucket, the versions that
	// were current at that time, to recover from a bad sync. Empty: the
	// newest versions.
	AsOf string `mapstructure:"as_of" yaml:"as_of,omitempty" json:"as_of,omitempty"`
	// Glacier says what to do with objects in an archive storage class.
	Glacier Glacier `mapstructure:"glacier" yaml:"glacier,omitempty" json:"glacier,omitempty"`
}

// Glacier configures restores of archived (GLACIER, DEEP_ARCHIVE) objects,
// which cannot be read until S3 has made a temporary copy.
type Glacier struct {
	// Restore requests that copy (RestoreObject) for every archived object
	// found; a later run reads it once available. Without it, an archived
	// object is an error for that object.
	Restore bool `mapstructure:"restore" yaml:"restore,omitempty" json:"restore,omitempty"`
	// Days the restored copy stays readable. Default 7.
	Days int `mapstructure:"days" yaml:"days,omitempty" json:"days,omitempty"`
	// Tier is Bulk (default, cheapest), Standard or Expedited.
	Tier string `mapstructure:"tier" yaml:"tier,omitempty" json:"tier,omitempty"`
}

// Defaults and limits of S3 sources.
const (
	DefaultGlacierDays    = 7
	DefaultGlacierTier    = "Bulk"
	MinSourcePartSize     = Size(1 << 20)
	MaxSourcePartSize     = Size(1 << 30)
	maxGlacierRestoreDays = 30000
)

// IsS3 reports whether the job restores from S3.
func (s Source) IsS3() bool { return s.Type == "s3" }

// AsOfTime parses AsOf; zero when AsOf is empty. Validation has checked it.
func (s Source) AsOfTime() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s.AsOf)
	return t
}

// MarshalYAML prints a directory source as the plain path it is usually
// written as, so printed configs read like hand-written ones.
func (s Source) MarshalYAML() (any, error) {
	if s == (Source{Type: "fs", Path: s.Path}) {
		return s.Path, nil
	}
	type plain Source // no methods: no recursion
	return plain(s), nil
}

// String describes the source for logs and reports, without credentials.
func (s Source) String() string {
	if !s.IsS3() {
		return s.Path
	}
	return s.S3Location.url()
}

// source is the job's source whether it was loaded (From) or set in code
// as a path (Source).
func (j *Job) source() Source {
	if j.From == (Source{}) && j.Source != "" {
		return Source{Type: "fs", Path: j.Source}
	}
	return j.From
}

func (s *Source) setDefaults() {
	if s.Type == "" && s.Path != "" {
		s.Type = "fs"
	}
	if s.Type != "s3" {
		return
	}
	if s.PartSize == 0 {
		s.PartSize = DefaultPartSize
	}
	if s.PartConcurrency == 0 {
		s.PartConcurrency = DefaultPartConcurrency
	}
	if s.Glacier.Restore {
		if s.Glacier.Days == 0 {
			s.Glacier.Days = DefaultGlacierDays
		}
		setString(&s.Glacier.Tier, DefaultGlacierTier)
	}
}

func (s *Source) check(c *checker, p string) {
	switch s.Type {
	case "fs":
		// Usually written as the plain path: name the key itself.
		c.absPath(p, s.Path)
		s.checkFSOnly(c, p)
	case "s3":
		s.checkS3(c, p)
	case "":
		c.add(p, "required")
	default:
		c.add(p+".type", "%q is not one of fs, s3", s.Type)
	}
}

// checkFSOnly refuses S3 settings on a directory source.
func (s *Source) checkFSOnly(c *checker, p string) {
	c.onlyFor(p, "s3 sources", append(s.S3Location.set(), setKeys(
		keySet{"part_size", s.PartSize != 0}, keySet{"part_concurrency", s.PartConcurrency != 0},
		keySet{"as_of", s.AsOf != ""}, keySet{"glacier", s.Glacier != (Glacier{})})...))
}

func (s *Source) checkS3(c *checker, p string) {
	checkBucketPrefix(c, p, s.Bucket, s.Prefix)
	if s.Path != "" {
		c.add(p+".path", "only valid for fs sources")
	}
	if s.Endpoint != "" {
		checkEndpoint(c, p+".endpoint", s.Endpoint)
	}
	if s.PartSize < MinSourcePartSize || s.PartSize > MaxSourcePartSize {
		c.add(p+".part_size", "must be between %s and %s, got %s", MinSourcePartSize, MaxSourcePartSize, s.PartSize)
	}
	c.between(p+".part_concurrency", s.PartConcurrency, 1, MaxParallel)
	if s.AsOf != "" {
		if _, err := time.Parse(time.RFC3339Nano, s.AsOf); err != nil {
			c.add(p+".as_of", "%q is not an RFC 3339 time such as 2024-05-06T07:08:09Z", s.AsOf)
		}
	}
	g := s.Glacier
	switch {
	case g.Restore:
		c.between(p+".glacier.days", g.Days, 1, maxGlacierRestoreDays)
		c.oneOf(p+".glacier.tier", g.Tier, "Bulk", "Standard", "Expedited")
	case g.Days != 0 || g.Tier != "":
		c.add(p+".glacier", "days and tier only apply with restore: true")
	}
}

// checkS3Source adds the rules of a restore to a job: it writes into
// directories only, runs once, and never deletes from the bucket.
func (j *Job) checkS3Source(c *checker, p string) {
	for i, d := range j.Destinations {
		if d.Type == "s3" {
			c.add(fmt.Sprintf("%s.destinations[%d].type", p, i), "an s3 source (a restore) can only be copied to fs destinations")
		}
	}
	if j.Mode == "watch" {
		c.add(p+".mode", "watch needs a directory source; an s3 source runs in once mode")
	}
	if j.AfterArchive == "delete" {
		c.add(p+".after_archive", "delete would remove objects from the source bucket; not available for an s3 source")
	}
	if j.Finished.Quiet != 0 {
		c.add(p+".finished.quiet", "only valid for a directory source")
	}
}
