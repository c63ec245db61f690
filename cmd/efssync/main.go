// Command efssync syncs source trees into mounted file systems and S3.
//
// Exit status: the table in exitcode.go (0 in sync, 1 some files failed, 2
// usage or configuration error, 3 interrupted, 4 nothing could be done).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/efssync/efssync/agent"
	"github.com/efssync/efssync/config"
)

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
	var quiet quietError
	if err != nil && !errors.As(err, &quiet) {
		fmt.Fprintln(stderr, errorPrefix(stderr)+"efssync:", err)
	}
	return exitCode(err)
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
		Use:   "efssync",
		Short: "Replicate file trees into EFS/NFS mounts and S3, following files as they grow",
		Long: "efssync replicates file trees into EFS/NFS mounts and S3, following files as they grow.\n" +
			"It runs the jobs of a configuration file (run), or one-off copies without one (copy, sync).\n\n" + exitTable,
		Example: `  efssync copy /srv/media /mnt/efs/media
  efssync sync /srv/media s3://bucket/media --max-delete 100
  efssync init --source /srv/media --dest /mnt/efs/media -c /etc/efssync/config.yaml
  efssync run -c /etc/efssync/config.yaml --progress`,
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
	root.AddCommand(newCopyCmd(g, false), newCopyCmd(g, true))
	root.AddCommand(newDocsCmd(root))
	requireSubcommand(root)
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

func newVerifyCmd(g *globals) *cobra.Command {
	var jobs []string
	var repair bool
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Re-read the destinations and report every file that differs from the source",
		Example: `  efssync verify -c /etc/efssync/config.yaml
  efssync verify -c config.yaml --job media --repair`,
		Args: cobra.NoArgs,
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
			return runVerify(cmd.Context(), a, g.stdout)
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
		Example: `  efssync gc -c /etc/efssync/config.yaml -n   # list what would go
  efssync gc -c /etc/efssync/config.yaml`,
		Args: cobra.NoArgs,
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
