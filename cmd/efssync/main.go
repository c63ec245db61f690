// Command efssync syncs source trees into mounted file systems and S3.
//
// Exit status: 0 when everything is in sync, 1 when some files failed (each
// is logged and reported with its path and cause), 2 for a usage or
// configuration error.
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
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/efssync/efssync/agent"
	"github.com/efssync/efssync/config"
)

// usageError marks errors that exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// syncFailed marks a run that finished with files out of sync: exit 1.
var errSyncFailed = errors.New("some files are not in sync")

// errInterrupted marks a once run stopped by a signal before it finished: exit 1.
var errInterrupted = errors.New("run interrupted before it finished: not everything is in sync")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errSyncFailed):
		return 1
	default:
		var ue usageError
		var ve *config.ValidationError
		if errors.As(err, &ue) || errors.As(err, &ve) || errors.Is(err, agent.ErrUnknownJob) || isCobraUsage(err) {
			fmt.Fprintln(stderr, errorPrefix(stderr)+"efssync:", err)
			return 2
		}
		fmt.Fprintln(stderr, errorPrefix(stderr)+"efssync:", err)
		return 1
	}
}

// isCobraUsage recognises cobra's own complaints about the command line
// (unknown command, wrong arguments), which carry no type of their own.
func isCobraUsage(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "accepts ") ||
		strings.HasPrefix(msg, "unknown flag") || strings.HasPrefix(msg, "unknown shorthand flag") ||
		strings.Contains(msg, "requires at least") || strings.Contains(msg, "flag needs an argument")
}

type globals struct {
	config       string
	shard        string
	logLevelFlag string
	stdout       io.Writer
	stderr       io.Writer
	// term shares stderr between log lines and the progress bar when it
	// is a terminal; nil otherwise.
	term *statusLine
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "efssync",
		Short:         "Replicate file trees into EFS/NFS mounts and S3, following files as they grow",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.PersistentFlags().StringVarP(&g.config, "config", "c", "", "configuration file (.yaml, .toml or .json); default $EFSSYNC_CONFIG, else "+defaultConfig)
	root.PersistentFlags().StringVar(&g.logLevelFlag, "log-level", "", "override log_level (debug, info, warn, error)")
	root.AddCommand(newRunCmd(g), newVerifyCmd(g), newGCCmd(g), newVersionCmd(g), newConfigCmd(g), newInitCmd(g))
	root.PersistentFlags().StringVar(&g.shard, "shard", "", shardFlagUsage)
	root.AddCommand(newReportCmd(g), newShardsCmd(g))
	setVersionFlag(root)
	root.AddCommand(newDocsCmd(root))
	return root
}

func (g *globals) load() (*config.Config, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, err
	}
	if _, err := g.logLevel(cfg); err != nil {
		return nil, err
	}
	if err := applyShard(cfg, g.shard, os.Environ()); err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

// logger writes text to a terminal and JSON lines anywhere else (journald,
// files), where machines read it.
func (g *globals) logger(cfg *config.Config) *slog.Logger {
	level, _ := g.logLevel(cfg)
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	if isTerminal(g.stderr) && g.term == nil {
		g.term = &statusLine{w: g.stderr}
	}
	log := newLogger(g.stderr, lv, g.term, os.Getenv)
	// The AWS SDK logs through slog's default logger (transfer/s3dest).
	slog.SetDefault(log)
	return log
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newRunCmd(g *globals) *cobra.Command {
	var jobs []string
	var dryRun, checkDest bool
	var report, cpuProfile string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Sync every job once, or keep syncing for jobs in watch mode",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			log := g.logger(cfg)
			if checkDest {
				checkDestinations(cfg)
			}
			if dryRun {
				onePass(cfg, log)
				done, err := inspectManifest(cmd.Context(), cfg)
				if err != nil {
					return err
				}
				defer done()
			}
			opts := agent.Options{Jobs: jobs, DryRun: dryRun, PlanOut: g.stdout, Log: log, ReportPath: config.ShardPath(report, cfg.Shard.Resolved())}
			if g.term != nil {
				opts.Progress = g.term.Progress()
			} else {
				opts.Progress = statsLogger{log: log, every: time.Duration(cfg.ProgressInterval)}
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return usageError{fmt.Errorf("--cpuprofile %s: %w", cpuProfile, err)}
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return fmt.Errorf("--cpuprofile %s: %w", cpuProfile, err)
				}
				defer pprof.StopCPUProfile()
			}
			if !dryRun {
				pruneReports(cfg, log)
			}
			sum, err := runWithReload(cmd.Context(), g, cfg, opts, log)
			if sum != nil {
				log.Info("run finished", "interrupted", sum.Interrupted, "files", sum.Files, "copied", sum.Copied, "adopted", sum.Adopted, "planned", sum.Planned, "unchanged", sum.Skipped,
					"deleted", sum.Deleted, "unsupported", sum.Unsupported, "failed", sum.Failed, "changed", sum.Changed, "vanished", sum.Vanished,
					"bytes", sum.Bytes, "duration", sum.Duration.String(), "report", sum.ReportPath)
				for _, je := range sum.JobErrors {
					fmt.Fprintln(g.stderr, errorPrefix(g.stderr)+"efssync:", je)
				}
			}
			if err != nil {
				if errors.Is(err, context.Canceled) {
					// SIGTERM/SIGINT: in-flight work was checkpointed or
					// aborted. A watch job stops so; a once run that did not
					// finish is not in sync.
					if sum != nil && sum.Interrupted {
						return errInterrupted
					}
					return nil
				}
				return err
			}
			if !sum.OK() {
				return errSyncFailed
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&jobs, "job", nil, "run only this job (repeatable)")
	cmd.Flags().BoolVarP(&dryRun, "dry-run", "n", false, "print what would be copied, linked and deleted; change nothing")
	cmd.Flags().BoolVar(&checkDest, "check-dest", false, "stat every destination entry and send again what is missing or differs (check_destination: true for every job)")
	cmd.Flags().StringVar(&report, "report", "", "write the JSON-lines report here instead of the report directory")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a Go CPU profile of the run to this file")
	_ = cmd.Flags().MarkHidden("cpuprofile")
	return cmd
}

// runWithReload runs the agent; with watch-mode jobs, SIGHUP loads the
// configuration again and restarts the jobs with it, while an invalid new
// configuration is logged and the old one keeps running.
func runWithReload(ctx context.Context, g *globals, cfg *config.Config, opts agent.Options, log *slog.Logger) (*agent.Summary, error) {
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
	if watching {
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	}
	for {
		runCfg, runOpts, unusable := preflight(ctx, cfg, opts, log)
		if runCfg == nil {
			if !watching && !opts.DryRun {
				writeTextfile(nil, cfg, nil, errUnusable, true, log)
			}
			return &agent.Summary{}, errUnusable
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
					c, err := g.load()
					if err != nil {
						log.Error("reload refused: the new configuration is invalid; the old one keeps running", "config", g.config, "error", err)
						continue
					}
					log.Info("reloading configuration", "config", g.config)
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

func newVerifyCmd(g *globals) *cobra.Command {
	var jobs []string
	var repair bool
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Re-read the destinations and report every file that differs from the source",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			if repair {
				return runRepair(cmd.Context(), g, cfg, jobs)
			}
			done, err := inspectManifest(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer done()
			a, err := agent.New(cfg, agent.Options{Jobs: jobs, Log: g.logger(cfg)})
			if err != nil {
				return err
			}
			defer a.Close()
			diffs, err := a.Verify(cmd.Context(), g.stdout)
			if err != nil {
				return err
			}
			if diffs > 0 {
				fmt.Fprintf(g.stderr, "efssync: %d differences\n", diffs)
				return errSyncFailed
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&jobs, "job", nil, "verify only this job (repeatable)")
	cmd.Flags().BoolVar(&repair, "repair", false, "send again what is missing or different, record it, and verify it once more (exit 0 when all is repaired; needs the manifest, like run)")
	return cmd
}

func newGCCmd(g *globals) *cobra.Command {
	var jobs []string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Remove temp files and abandoned multipart uploads that interrupted runs left behind",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			a, err := agent.New(cfg, agent.Options{Jobs: jobs, DryRun: dryRun, PlanOut: g.stdout, Log: g.logger(cfg)})
			if err != nil {
				return err
			}
			defer a.Close()
			n, err := a.GC(cmd.Context())
			if dryRun {
				fmt.Fprintf(g.stdout, "would remove %d leftovers\n", n)
			} else {
				fmt.Fprintf(g.stdout, "removed %d leftovers\n", n)
			}
			return err
		},
	}
	cmd.Flags().StringSliceVar(&jobs, "job", nil, "clean only this job (repeatable)")
	cmd.Flags().BoolVarP(&dryRun, "dry-run", "n", false, "list what would be removed; change nothing")
	return cmd
}
