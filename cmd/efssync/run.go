package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/spf13/cobra"

	"github.com/efssync/efssync/agent"
	"github.com/efssync/efssync/config"
)

const runExamples = `  # one pass over every job of the configuration
  efssync run -c /etc/efssync/config.yaml
  # what would change, without changing anything
  efssync run -c config.yaml -n -v
  # one job, leaving out temp files, at most 20 MiB/s, 16 files at once
  efssync run -c config.yaml --job media --exclude '*.tmp' --bwlimit 20M --transfers 16
  # machine-readable summary for a script
  efssync run -c config.yaml -q --json | jq .failed`

func newRunCmd(g *globals) *cobra.Command {
	f := &runFlags{}
	var cpuProfile string
	cmd := &cobra.Command{
		Use:     "run",
		Short:   "Sync every job once, or keep syncing for jobs in watch mode",
		Example: runExamples,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			load := func() (*config.Config, error) {
				cfg, err := g.load()
				if err != nil {
					return nil, err
				}
				return cfg, f.apply(cfg)
			}
			cfg, err := load()
			if err != nil {
				return err
			}
			if cpuProfile != "" {
				stop, err := startProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			return execRun(cmd.Context(), g, cfg, f, load)
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a Go CPU profile of the run to this file")
	_ = cmd.Flags().MarkHidden("cpuprofile")
	return cmd
}

// startProfile starts a CPU profile into path; stop ends it.
func startProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, usageError{fmt.Errorf("--cpuprofile %s: %w", path, err)}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile %s: %w", path, err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// execRun is what run, copy and sync share once they have a configuration
// with the flags applied: one engine, one set of safety rules, one way to
// turn the outcome into an exit status. reload reads the configuration
// again on SIGHUP (watch mode); nil when there is nothing to reload.
func execRun(ctx context.Context, g *globals, cfg *config.Config, f *runFlags, reload func() (*config.Config, error)) error {
	log := g.logger(cfg)
	if f.dryRun {
		onePass(cfg, log)
		done, err := inspectManifest(ctx, cfg)
		if err != nil {
			return err
		}
		defer done()
	}
	opts := agent.Options{Jobs: f.jobs, DryRun: f.dryRun, PlanOut: g.stdout, Log: log,
		ReportPath: config.ShardPath(f.report, cfg.Shard.Resolved()), ReportUnchanged: f.verbose >= 2}
	switch {
	case f.quiet:
	case g.term != nil && f.stats == 0, f.progress:
		if g.term == nil {
			g.term = &statusLine{w: g.stderr}
		}
		opts.Progress = g.term.Progress()
	default:
		opts.Progress = statsLogger{log: log, every: time.Duration(cfg.ProgressInterval)}
	}
	opts.Flags = f.inForce()
	opts.FilterRules = f.rules
	if f.verbose > 0 && (!f.dryRun || f.verbose > 1) {
		// A dry run lists its plan on stdout already; -vv adds the rest.
		var w io.Writer = g.stdout
		if g.term != nil && isTerminal(g.stdout) {
			w = g.term // one terminal: the line goes above the bar
		}
		opts.Lines = (&lineEcho{w: w, level: f.verbose, json: f.json}).Line
	}
	if !f.dryRun {
		pruneReports(cfg, log)
	}
	sum, err := runWithReload(ctx, cfg, opts, log, reload)
	if sum != nil {
		if err := g.summarize(log, sum, f); err != nil {
			return err
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		// SIGTERM/SIGINT: in-flight work was checkpointed or aborted. A
		// watch job stops so; a once run that did not finish is not in sync.
		if sum != nil && sum.Interrupted {
			// Files the walk found that ended neither done nor failed:
			// cut short (sum.Stopped) or never started.
			done := sum.Copied + sum.Adopted + sum.Skipped
			left := max(sum.Files-done-sum.Failed-sum.Changed-sum.Vanished-sum.Unsupported, sum.Stopped)
			fmt.Fprintf(g.stderr, "interrupted: %d files done, %d left for the next run\n", done, left)
			return quietError{errInterrupted}
		}
		return nil
	case errors.Is(err, errNothingDone):
		// Through the logger, like the problems it sums up: one JSON line
		// under systemd, one text line on a terminal.
		log.Error(err.Error())
		return quietError{err}
	case err != nil:
		return err
	case !sum.OK():
		return errSyncFailed
	}
	return nil
}

// quietError carries an outcome whose message was already printed.
type quietError struct{ err error }

func (e quietError) Error() string { return e.err.Error() }
func (e quietError) Unwrap() error { return e.err }

// runWithReload runs the agent; with watch-mode jobs, SIGHUP loads the
// configuration again and restarts the jobs with it, while an invalid new
// configuration is logged and the old one keeps running.
func runWithReload(ctx context.Context, cfg *config.Config, opts agent.Options, log *slog.Logger, reload func() (*config.Config, error)) (*agent.Summary, error) {
	watching := false
	for _, j := range cfg.Jobs {
		watching = watching || j.Mode == "watch"
	}
	if watching {
		opts.Notify = func(state string) { _, _ = daemon.SdNotify(false, state) }
		if every, err := daemon.SdWatchdogEnabled(false); err == nil && every > 0 {
			opts.WatchdogEvery = every / 2
		}
	}
	hup := make(chan os.Signal, 1)
	if watching && reload != nil {
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	}
	for {
		runCfg, runOpts, unusable := preflight(ctx, cfg, opts, log)
		if runCfg == nil {
			if !watching && !opts.DryRun {
				writeTextfile(nil, cfg, nil, errNothingDone, true, log)
			}
			return &agent.Summary{}, errNothingDone
		}
		a, err := agent.New(runCfg, runOpts)
		if err != nil {
			return nil, err
		}
		if err := a.PrepareMetrics(); err != nil {
			a.Close()
			return nil, startupError(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		var next *config.Config
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-rctx.Done():
					return
				case <-hup:
					c, err := reload()
					if err != nil {
						log.Error("reload refused: the new configuration is invalid; the old one keeps running", "error", err)
						continue
					}
					log.Info("reloading configuration")
					_, _ = daemon.SdNotify(false, daemon.SdNotifyReloading)
					next = c
					cancel()
					return
				}
			}
		}()
		sum, err := a.Run(rctx)
		cancel()
		<-done
		if !watching && !opts.DryRun {
			writeTextfile(a, runCfg, sum, err, unusable, log)
		}
		a.Close()
		if next == nil || ctx.Err() != nil {
			if err == nil && unusable {
				err = errUnusable
			}
			return sum, err
		}
		cfg = next
	}
}
