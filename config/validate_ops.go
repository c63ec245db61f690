package config

import (
	"strings"
	"time"
)

// checkOps validates the keys operators use to watch an agent: progress
// lines, the metrics textfile and report rotation.
func (cfg *Config) checkOps(c *checker) {
	if cfg.ProgressInterval != 0 && time.Duration(cfg.ProgressInterval) < time.Second {
		c.add("progress_interval", "must be at least 1s, got %s", cfg.ProgressInterval)
	}
	if t := cfg.Metrics.Textfile; t != "" {
		c.absPath("metrics.textfile", t)
		if !strings.HasSuffix(t, ".prom") {
			c.add("metrics.textfile", "must end in .prom (node_exporter's textfile collector reads only those), got %q", t)
		}
	}
	r := cfg.Reports
	if r.MaxSize < 0 {
		c.add("reports.max_size", "must not be negative, got %d", r.MaxSize)
	}
	if r.MaxAge < 0 {
		c.add("reports.max_age", "must not be negative, got %s", r.MaxAge)
	}
	if r.Keep < 0 {
		c.add("reports.keep", "must not be negative, got %d", r.Keep)
	}
	if r.Retention < 0 {
		c.add("reports.retention", "must not be negative, got %s", r.Retention)
	}
}
