package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/efssync/efssync/agent"
	"github.com/efssync/efssync/config"
)

// errUnusable is the exit-1 error of a run in which a source or destination
// was unusable at start; each one was already logged once, by name.
var errUnusable = fmt.Errorf("some sources or destinations were unusable at start (logged above): %w", errSyncFailed)

// preflight runs agent.Preflight and logs each problem once. It returns the
// configuration and options to run with, or a nil configuration when
// nothing is left to run.
func preflight(ctx context.Context, cfg *config.Config, opts agent.Options, log *slog.Logger) (*config.Config, agent.Options, bool) {
	// The source of an after_archive: delete job is released only once
	// every destination configured for it holds the file, the ones
	// Preflight leaves out of this run included.
	opts.Configured = cfg
	out, dropped, problems := agent.Preflight(ctx, cfg, opts.Jobs)
	for _, p := range problems {
		log.Error("unusable at start; skipped this run", "error", p)
	}
	if len(opts.Jobs) > 0 {
		opts.Jobs = slices.DeleteFunc(slices.Clone(opts.Jobs), func(j string) bool { return slices.Contains(dropped, j) })
		if len(opts.Jobs) == 0 {
			return nil, opts, len(problems) > 0
		}
	}
	if len(out.Jobs) == 0 {
		return nil, opts, len(problems) > 0
	}
	return out, opts, len(problems) > 0
}

// pruneReports applies reports.keep and reports.retention before a run.
func pruneReports(cfg *config.Config, log *slog.Logger) {
	removed, err := agent.PruneReports(cfg.ReportDir, reportRetention(cfg), time.Now())
	if err != nil {
		log.Warn("old reports not removed", "error", err)
	}
	if len(removed) > 0 {
		log.Debug("old reports removed", "count", len(removed))
	}
}

func reportRetention(cfg *config.Config) agent.ReportRetention {
	return agent.ReportRetention{Keep: cfg.Reports.Keep, MaxAge: time.Duration(cfg.Reports.Retention)}
}

// writeTextfile records a once-mode run for node_exporter (metrics.textfile).
func writeTextfile(a *agent.Agent, cfg *config.Config, sum *agent.Summary, runErr error, unusable bool, log *slog.Logger) {
	if cfg.Metrics.Textfile == "" {
		return
	}
	ok := runErr == nil && !unusable && sum != nil && sum.OK()
	var took time.Duration
	if sum != nil {
		took = sum.Duration
	}
	if err := a.WriteTextfile(cfg.Metrics.Textfile, ok, took, time.Now()); err != nil {
		log.Error("metrics textfile not written", "error", err)
	}
}

// startupError marks a metrics listener that could not bind as a
// configuration problem (exit 2).
func startupError(err error) error {
	if err == nil {
		return nil
	}
	var ue usageError
	if errors.As(err, &ue) {
		return err
	}
	return usageError{err}
}
