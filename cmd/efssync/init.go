package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/efssync/efssync/config"
)

// starter is the commented configuration `efssync init` writes: enough to
// run, with the keys an operator changes first explained where they stand.
var starter = template.Must(template.New("starter").Parse(`# efssync configuration, written by ` + "`efssync init`" + `.
# Every key, with its default, is described in the reference configuration
# (examples/config.yaml in the efssync source).
# Check this file without changing anything:
#   efssync config check --config {{.Path}}
#   efssync run --config {{.Path}} --dry-run

# Manifest and reports. The manifest's name is derived from this file's
# path (see ` + "`efssync config check`" + `), so another configuration never shares it.
{{- if .StateDir}}
state_dir: {{printf "%q" .StateDir}}
{{- else}}
# Default: $STATE_DIRECTORY (systemd), else /var/lib/efssync for root, else
# $XDG_STATE_HOME/efssync or ~/.local/state/efssync.
# state_dir: /var/lib/efssync
{{- end}}

# debug, info, warn or error.
log_level: info

# Prometheus metrics: uncomment to serve /metrics and /healthz (not on 9090,
# which is Prometheus's own port), or to write a node_exporter textfile after
# each run.
# metrics:
#   listen: "127.0.0.1:9465"
#   textfile: /var/lib/node_exporter/textfile_collector/efssync.prom

jobs:
  - name: {{.Name}}
    # The tree to replicate: it is only read.
    source: {{printf "%q" .Source}}
    # once: one pass per ` + "`efssync run`" + ` (a timer runs it until cut-over);
    # watch: keep following changes (efssync.service).
    mode: once
    # never (default) or mirror: also delete at the destinations what is
    # gone from the source, at most max_delete at a time.
    delete: never
    destinations:
{{- range .Dests}}
{{- if .Bucket}}
      - type: s3
        bucket: {{.Bucket}}
{{- if .Prefix}}
        prefix: {{printf "%q" .Prefix}}
{{- end}}
        # region: us-east-1
        # Credentials come from the AWS credential chain (environment,
        # ~/.aws, instance or task role), never from this file.
{{- else}}
      - type: fs
        # A mounted EFS/NFS file system (or any directory). It must exist:
        # a missing root usually means the file system is not mounted.
        path: {{printf "%q" .Path}}
{{- end}}
{{- end}}
`))

// starterDest is one --dest, as a directory or an s3://bucket/prefix URL.
type starterDest struct{ Path, Bucket, Prefix string }

func newInitCmd(g *globals) *cobra.Command {
	var source, name, stateDir string
	var dests []string
	var force bool
	cmd := &cobra.Command{
		Use:   "init --source DIR --dest DIR|s3://BUCKET/PREFIX",
		Short: "Write a commented, validated starter configuration",
		Long: "Write a commented starter configuration to --config (- for stdout), else $EFSSYNC_CONFIG, else\n" +
			defaultConfig + ". Paths are written absolute. The result is validated before it is written: exit 0\n" +
			"only when it validates. An existing file is replaced only with --force.",
		Example: `  efssync init --source /srv/media --dest /mnt/efs/media -c /etc/efssync/config.yaml
  efssync init --source /srv/media --dest s3://my-bucket/media -c - > media.yaml
  efssync init --source /srv/media --dest /mnt/efs/media -c config.yaml --force`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			path, _ := g.configPath()
			toStdout := path == "-"
			if toStdout {
				path = "config.yaml"
			}
			out, err := renderStarter(path, source, name, stateDir, dests)
			if err != nil {
				return err
			}
			if err := validateStarter(out); err != nil {
				return usageError{fmt.Errorf("the starter configuration does not validate, nothing written:\n%w", err)}
			}
			if toStdout {
				_, err := g.stdout.Write(out)
				return err
			}
			if err := writeConfigFile(path, out, force); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "wrote %s\ncheck it with: efssync run --config %s --dry-run\n", path, path)
			return nil
		},
	}
	cmd.Flags().StringVar(&source, "source", "", "the directory to replicate (absolute)")
	cmd.Flags().StringSliceVar(&dests, "dest", nil, "a destination directory or s3://bucket/prefix (repeatable)")
	cmd.Flags().StringVar(&name, "name", "", "the job's name (default: from the source directory)")
	cmd.Flags().StringVar(&stateDir, "state-dir", "", "where the manifest and reports live (default: efssync's own default, shown commented)")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing configuration file")
	_ = cmd.MarkFlagRequired("source")
	_ = cmd.MarkFlagRequired("dest")
	return cmd
}

// jobName makes a valid job name from a source directory's base name.
func jobName(source string) string {
	b := []byte(filepath.Base(filepath.Clean(source)))
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '-'
		}
	}
	if s := strings.Trim(string(b), ".-"); s != "" {
		return s
	}
	return "main"
}

// renderStarter fills the starter template, with every path absolute: the
// configuration rejects relative ones.
func renderStarter(path, source, name, stateDir string, dests []string) ([]byte, error) {
	abs := func(p string) (string, error) {
		if p == "" {
			return "", nil
		}
		a, err := filepath.Abs(p)
		if err != nil {
			return "", usageError{fmt.Errorf("%s: %w", p, err)}
		}
		return a, nil
	}
	var err error
	data := struct {
		Path, StateDir, Name, Source string
		Dests                        []starterDest
	}{Name: name}
	if data.Path, err = abs(path); err != nil {
		return nil, err
	}
	if data.Source, err = abs(source); err != nil {
		return nil, err
	}
	if data.StateDir, err = abs(stateDir); err != nil {
		return nil, err
	}
	if data.Name == "" {
		data.Name = jobName(data.Source)
	}
	for _, d := range dests {
		if rest, ok := strings.CutPrefix(d, "s3://"); ok {
			bucket, prefix, _ := strings.Cut(rest, "/")
			data.Dests = append(data.Dests, starterDest{Bucket: bucket, Prefix: prefix})
			continue
		}
		p, err := abs(d)
		if err != nil {
			return nil, err
		}
		data.Dests = append(data.Dests, starterDest{Path: p})
	}
	var b strings.Builder
	if err := starter.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("render starter configuration: %w", err)
	}
	return []byte(b.String()), nil
}

// validateStarter loads the rendered configuration from a scratch file, as
// `efssync run` would load it.
func validateStarter(b []byte) error {
	dir, err := os.MkdirTemp("", "efssync-init-")
	if err != nil {
		return fmt.Errorf("validate starter configuration: %w", err)
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		return fmt.Errorf("validate starter configuration: %w", err)
	}
	_, err = config.Load(p, os.Environ())
	return err
}

// writeConfigFile writes the file at path through a temp file, so nothing
// partial ever stands under its name. Without force it refuses to replace
// a file: the temp file is hard-linked to the final name, which fails if
// the name exists; with force it is renamed over it.
func writeConfigFile(path string, b []byte, force bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".efssync-init-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if force {
		if err := os.Rename(tmp.Name(), path); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return usageError{fmt.Errorf("%s already exists; give --force to replace it", path)}
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
