package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/efssync/efssync/agent"
	"github.com/efssync/efssync/config"
)

// runRepair is `efssync verify --repair`: verify, send again what differs,
// verify that once more. It opens the manifest exclusively (it records
// what it sends), so it waits for no running agent: it fails at once when
// one holds the manifest. Exit 0 when every difference was repaired.
func runRepair(ctx context.Context, g *globals, cfg *config.Config, jobs []string) error {
	a, err := agent.New(cfg, agent.Options{Jobs: jobs, Log: g.logger(cfg)})
	if err != nil {
		return err
	}
	defer a.Close()
	remaining, err := a.Repair(ctx, g.stdout)
	if err != nil {
		return err
	}
	if remaining > 0 {
		fmt.Fprintf(g.stderr, "efssync: %d differences not repaired\n", remaining)
		return errSyncFailed
	}
	return nil
}

// checkDestinations is `run --check-dest`: check_destination for every job.
func checkDestinations(cfg *config.Config) {
	for i := range cfg.Jobs {
		cfg.Jobs[i].CheckDestination = true
	}
}

// onePass makes a dry run of watch-mode jobs their initial pass only: the
// plan of what the live loop would catch up on, then exit, instead of a
// dry run that never ends.
func onePass(cfg *config.Config, log *slog.Logger) {
	for i := range cfg.Jobs {
		if cfg.Jobs[i].Mode == "watch" {
			log.Info("dry run of a watch job: one pass, then exit", "job", cfg.Jobs[i].Name)
			cfg.Jobs[i].Mode = "once"
		}
	}
}
