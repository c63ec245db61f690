package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newConfigCmd groups commands about the configuration file itself.
func newConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Inspect the configuration",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Validate the configuration and print it resolved (defaults, environment overrides), secrets redacted",
		Long: "Validate the configuration file, list every problem with its key path (exit 2), or print the\n" +
			"configuration as efssync will run it: defaults filled in, EFSSYNC_* overrides applied, the\n" +
			"derived manifest path shown, credentials in endpoints redacted. It neither opens the manifest\n" +
			"nor touches sources or destinations, so it works while an agent runs.",
		Example: `  efssync config check -c /etc/efssync/config.yaml
  EFSSYNC_JOBS_0_MODE=watch efssync config check -c config.yaml`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			out, err := cfg.YAML()
			if err != nil {
				return fmt.Errorf("render configuration: %w", err)
			}
			path, _ := g.configPath()
			fmt.Fprintf(g.stdout, "# %s: valid; as efssync resolves it (secrets redacted)\n%s", path, out)
			return nil
		},
	})
	return cmd
}
