package config

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// ValidationError lists everything wrong with a configuration at once, so
// an operator fixes the file in one pass instead of one error per run.
// Each problem starts with the key path it concerns, e.g.
// "jobs[1].destinations[0].path: must be an absolute path".
type ValidationError struct {
	// Problems holds one message per problem, each starting with its key
	// path, in key order.
	Problems []string
	// File is the configuration file the problems were found in, so an
	// operator with several (config.yaml, live.yaml) knows which to edit;
	// empty for a Config built in code.
	File string
}

// Error prints one problem per line, after the file when it is known.
func (e *ValidationError) Error() string {
	msg := strings.Join(e.Problems, "\n")
	switch {
	case e.File == "":
		return msg
	case len(e.Problems) == 1:
		return "config file " + e.File + ": " + msg
	}
	return "config file " + e.File + ":\n" + msg
}

// Validate checks a Config (normally after SetDefaults) and returns a
// *ValidationError listing every problem, or nil. Load already calls it;
// it is exported for configs built in code.
func (c *Config) Validate() error { return c.ValidateContext(context.Background()) }

// ValidateContext is Validate that stops, returning ctx's error, when ctx
// is done, so that a huge configuration cannot hold off SIGTERM.
func (c *Config) ValidateContext(ctx context.Context) error { return asError(c.problems(ctx)) }

// asError turns a list of problems into a *ValidationError, nil when empty.
func asError(p []string, err error) error {
	if err != nil {
		return err
	}
	if len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

// Limits enforced by validation.
const (
	MinPartSize  = Size(5 << 20) // S3's smallest multipart part
	MaxPartSize  = Size(5 << 30) // S3's largest part
	MinChunkSize = Size(4 << 10)
	MaxChunkSize = Size(64 << 20)
	MaxParallel  = 1024 // ceiling for concurrency, checkers and part_concurrency
)

// checker accumulates problems with their key paths.
type checker struct{ list []string }

func (c *checker) add(path, format string, args ...any) {
	c.list = append(c.list, path+": "+fmt.Sprintf(format, args...))
}

// oneOf checks that v is one of allowed.
func (c *checker) oneOf(path, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	c.add(path, "%q is not one of %s", v, strings.Join(allowed, ", "))
}

func (c *checker) absPath(path, v string) {
	switch {
	case v == "":
		c.add(path, "required")
	case strings.IndexByte(v, 0) >= 0:
		c.add(path, "must not contain a NUL byte, got %q", v)
	case !filepath.IsAbs(v):
		c.add(path, "must be an absolute path, got %q", v)
	}
}

func (c *checker) between(path string, v, lo, hi int) {
	if v < lo || v > hi {
		c.add(path, "must be between %d and %d, got %d", lo, hi, v)
	}
}

// problems returns every validation problem, in key order, or ctx's error.
func (cfg *Config) problems(ctx context.Context) ([]string, error) {
	c := &checker{}
	if cfg.StateDir == "" {
		c.add("state_dir", "not set, and none of STATE_DIRECTORY, XDG_STATE_HOME or HOME is in the environment")
	} else {
		c.absPath("state_dir", cfg.StateDir)
	}
	if cfg.Manifest != "" {
		c.absPath("manifest", cfg.Manifest)
	}
	if cfg.ReportDir != "" {
		c.absPath("report_dir", cfg.ReportDir)
	}
	c.oneOf("log_level", cfg.LogLevel, "debug", "info", "warn", "error")
	cfg.checkOps(c)
	if l := cfg.Metrics.Listen; l != "" {
		host, port, err := net.SplitHostPort(l)
		n, perr := strconv.Atoi(port)
		switch {
		case err != nil:
			c.add("metrics.listen", "must be host:port (e.g. :9090 or 127.0.0.1:9090), got %q", l)
		case perr != nil || n < 0 || n > 65535:
			c.add("metrics.listen", "port must be a number from 0 to 65535, got %q", port)
		case strings.ContainsAny(host, "/ "):
			c.add("metrics.listen", "invalid host %q", host)
		}
	}
	cfg.Shard.check(c)
	if len(cfg.Jobs) == 0 {
		c.add("jobs", "at least one job is required")
	}
	names := map[string]int{}
	for i := range cfg.Jobs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p := index("jobs", i)
		j := &cfg.Jobs[i]
		if j.Name != "" {
			if prev, dup := names[j.Name]; dup {
				c.add(p+".name", "%q is already the name of jobs[%d]; job names must be unique", j.Name, prev)
			} else {
				names[j.Name] = i
			}
		}
		j.check(c, p)
	}
	overlaps, err := cfg.overlapProblems(ctx)
	if err != nil {
		return nil, err
	}
	return append(c.list, overlaps...), nil
}

func (j *Job) check(c *checker, p string) {
	switch {
	case j.Name == "":
		c.add(p+".name", "required")
	case !allIn(j.Name, isSafeNameByte) || j.Name == "." || j.Name == "..":
		c.add(p+".name", "%q may contain only letters, digits, '.', '_' and '-'", j.Name)
	}
	src := j.source()
	src.check(c, p+".source")
	fsSource := ""
	if src.Type == "fs" {
		fsSource = src.Path
	} else if src.IsS3() {
		j.checkS3Source(c, p)
	}
	j.checkDestinations(c, p, fsSource)
	c.oneOf(p+".mode", j.Mode, "once", "watch")
	c.oneOf(p+".delete", j.Delete, "never", "mirror")
	if _, _, err := ParseMaxDelete(j.MaxDelete); err != nil {
		c.add(p+".max_delete", "%q must be a positive count (1000) or a percentage (10%%) greater than 0 and at most 100", j.MaxDelete)
	}
	c.oneOf(p+".verify", j.Verify, "none", "transferred", "all")
	c.oneOf(p+".publish", j.Publish, "atomic", "progressive")
	for i, o := range j.Order {
		if o != "hls" && o != "dash" {
			c.add(index(p+".order", i), "%q is not a known ordering rule (known: \"hls\", \"dash\")", o)
		}
	}
	j.checkTuning(c, p)
	checkGlobs(c, p+".include", j.Include)
	checkGlobs(c, p+".exclude", j.Exclude)
	if j.Rescan <= 0 {
		c.add(p+".rescan", "must be positive, got %s", j.Rescan)
	}
	if j.Quiet <= 0 {
		c.add(p+".quiet", "must be positive, got %s", j.Quiet)
	}
	if j.Finished.Quiet < 0 {
		c.add(p+".finished.quiet", "must not be negative, got %s", j.Finished.Quiet)
	}
	c.oneOf(p+".after_archive", j.AfterArchive, "keep", "delete")
	j.checkAdopt(c, p)
	j.checkAfterArchive(c, p)
}

// checkDestinations checks each destination of the job and that their
// names are unique within it.
func (j *Job) checkDestinations(c *checker, p, fsSource string) {
	if len(j.Destinations) == 0 {
		c.add(p+".destinations", "at least one destination is required")
	}
	dnames := map[string]int{}
	for i := range j.Destinations {
		dp := index(p+".destinations", i)
		d := &j.Destinations[i]
		d.check(c, dp, fsSource)
		if d.Name != "" {
			if prev, dup := dnames[d.Name]; dup {
				c.add(dp+".name", "%q is already the name of destinations[%d]; destination names must be unique within a job", d.Name, prev)
			} else {
				dnames[d.Name] = i
			}
		}
	}
}

// checkTuning checks the limits on parallelism, buffers and bandwidth.
func (j *Job) checkTuning(c *checker, p string) {
	c.between(p+".concurrency", j.Concurrency, 1, MaxParallel)
	c.between(p+".checkers", j.Checkers, 1, MaxParallel)
	if j.ChunkSize < MinChunkSize || j.ChunkSize > MaxChunkSize {
		c.add(p+".chunk_size", "must be between %s and %s, got %s", MinChunkSize, MaxChunkSize, j.ChunkSize)
	}
	if j.Bandwidth < 0 {
		c.add(p+".bandwidth", "must not be negative")
	}
	j.checkBwLimit(c, p)
}

// checkAfterArchive refuses the combinations in which after_archive:
// delete could remove a source that is not safely copied.
func (j *Job) checkAfterArchive(c *checker, p string) {
	if j.AfterArchive == "delete" && j.Delete == "mirror" {
		c.add(p+".after_archive", "delete cannot be combined with delete: mirror, which would then remove every archived copy")
	}
	if j.AfterArchive == "delete" && j.Finished.Quiet <= 0 {
		c.add(p+".after_archive", "delete requires finished.quiet > 0, so that only files that stopped changing are removed")
	}
}

// checkGlobs validates include/exclude patterns, which match paths relative
// to the job's source.
func checkGlobs(c *checker, p string, globs []string) {
	for i, g := range globs {
		gp := index(p, i)
		switch {
		case g == "":
			c.add(gp, "empty pattern")
		case !doublestar.ValidatePattern(g):
			c.add(gp, "%q is not a valid glob", g)
		case strings.HasPrefix(g, "/"):
			c.add(gp, "%q must be relative to the source (no leading '/')", g)
		}
	}
}

func (d *Destination) check(c *checker, p, source string) {
	switch d.Type {
	case "fs":
		c.absPath(p+".path", d.Path)
		c.onlyFor(p, "s3 destinations", append(d.S3Location.set(), setKeys(
			keySet{"storage_class", d.StorageClass != ""}, keySet{"sse", d.SSE != ""},
			keySet{"kms_key_id", d.KMSKeyID != ""}, keySet{"tags", len(d.Tags) > 0})...))
	case "s3":
		d.checkS3(c, p)
	case "":
		c.add(p+".type", "required (fs or s3)")
	default:
		c.add(p+".type", "%q is not one of fs, s3", d.Type)
	}
	if d.Type != "fs" && d.Type != "" && d.Path != "" {
		c.add(p+".path", "only valid for fs destinations")
	}
}

func (d *Destination) checkS3(c *checker, p string) {
	checkBucketPrefix(c, p, d.Bucket, d.Prefix)
	if d.PartSize < MinPartSize || d.PartSize > MaxPartSize {
		c.add(p+".part_size", "must be between %s and %s, got %s", MinPartSize, MaxPartSize, d.PartSize)
	}
	c.between(p+".part_concurrency", d.PartConcurrency, 1, MaxParallel)
	c.oneOf(p+".sse", d.SSE, "", "AES256", "aws:kms")
	if d.KMSKeyID != "" && d.SSE != "aws:kms" {
		c.add(p+".kms_key_id", "only valid with sse: aws:kms")
	}
	if d.StorageClass != "" && !validStorageClass(d.StorageClass) {
		c.add(p+".storage_class", "%q is not a storage class name such as STANDARD or STANDARD_IA", d.StorageClass)
	}
	if d.Endpoint != "" {
		checkEndpoint(c, p+".endpoint", d.Endpoint)
	}
	if len(d.Tags) > 7 {
		c.add(p+".tags", "at most 7 tags: S3 allows 10 and efssync keeps 3 for the BLAKE3, mtime and mode of large objects; got %d", len(d.Tags))
	}
	for _, k := range slices.Sorted(maps.Keys(d.Tags)) {
		switch {
		case k == "" || len(k) > 128:
			c.add(p+".tags", "tag key %q must be 1 to 128 characters", k)
		case len(d.Tags[k]) > 256:
			c.add(p+".tags["+k+"]", "tag value must be at most 256 characters")
		}
	}
}

// checkBucketPrefix checks the bucket and prefix of an S3 destination or
// source at key path p.
func checkBucketPrefix(c *checker, p, bucket, prefix string) {
	switch {
	case bucket == "":
		c.add(p+".bucket", "required")
	case !validBucket(bucket) || strings.Contains(bucket, ".."):
		c.add(p+".bucket", "%q is not a valid bucket name (3-63 lowercase letters, digits, '.' and '-')", bucket)
	}
	switch {
	case strings.HasPrefix(prefix, "/"):
		c.add(p+".prefix", "%q must not start with '/'", prefix)
	case strings.IndexByte(prefix, 0) >= 0:
		c.add(p+".prefix", "must not contain a NUL byte, got %q", prefix)
	}
}

// checkEndpoint requires an http(s) URL without credentials. The value is
// never echoed: if it holds a password, the error must not print it.
func checkEndpoint(c *checker, p, e string) {
	u, err := url.Parse(e)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		if strings.Contains(e, "@") {
			c.add(p, "must be an http:// or https:// URL with a host, and must not contain credentials")
		} else {
			c.add(p, "must be an http:// or https:// URL with a host, got %q", redactURL(e))
		}
	case u.User != nil:
		c.add(p, "must not contain credentials (user:password@); S3 credentials come from the AWS credential chain (environment, profile, instance role)")
	}
}

// within reports whether path lies strictly below dir (both clean, absolute).
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, "../")
}

// Character classes of names, checked by hand instead of with regexps that
// every start of the binary would compile (config is imported by all of it).

func isSafeNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}

func isBucketByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-'
}

// allIn reports whether s is not empty and every byte of it satisfies ok.
func allIn(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return s != ""
}

// validBucket is S3's bucket naming rule: 3 to 63 of a-z 0-9 . -, starting
// and ending with a letter or digit.
func validBucket(s string) bool {
	alnum := func(c byte) bool { return isBucketByte(c) && c != '.' && c != '-' }
	return len(s) >= 3 && len(s) <= 63 && allIn(s, isBucketByte) && alnum(s[0]) && alnum(s[len(s)-1])
}

// validStorageClass accepts names like STANDARD_IA: an upper-case letter,
// then upper-case letters, digits and underscores.
func validStorageClass(s string) bool {
	return s != "" && 'A' <= s[0] && s[0] <= 'Z' &&
		allIn(s, func(c byte) bool { return 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' })
}
