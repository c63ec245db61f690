package main

// A hidden `efssync docs DIR` writes the man pages and shell completions the
// packages install. They come from the command tree itself, so they can
// never describe flags the binary does not have.

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// Layout of the generated tree, mirrored by the contents in
// packaging/nfpm.yaml: man/man1, man/man5 and completions.
const (
	manDir        = "man"
	completionDir = "completions"
)

func newDocsCmd(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:    "docs DIR",
		Short:  "Write man pages (DIR/man/man1, DIR/man/man5) and bash, zsh and fish completions (DIR/completions)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return writeDocs(root, currentBuildInfo(), args[0])
		},
	}
}

// writeDocs generates every file below dir. The man pages carry the date of
// the build's commit, so the same commit always yields the same pages.
func writeDocs(root *cobra.Command, info buildInfo, dir string) error {
	for _, d := range []string{manDir, completionDir} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return fmt.Errorf("docs: %w", err)
		}
	}
	disableAutoGenTag(root)
	if err := writeManPages(root, info, filepath.Join(dir, manDir)); err != nil {
		return fmt.Errorf("docs: %w", err)
	}
	completions := map[string]func(io.Writer) error{
		"efssync.bash": func(w io.Writer) error { return root.GenBashCompletionV2(w, true) },
		"_efssync":     root.GenZshCompletion,
		"efssync.fish": func(w io.Writer) error { return root.GenFishCompletion(w, true) },
	}
	for name, gen := range completions {
		if err := writeFile(filepath.Join(dir, completionDir, name), gen); err != nil {
			return fmt.Errorf("docs: %w", err)
		}
	}
	return nil
}

// disableAutoGenTag drops cobra's "Auto generated ... on DATE" footer, which
// would make every build's pages differ.
func disableAutoGenTag(c *cobra.Command) {
	c.DisableAutoGenTag = true
	for _, sub := range c.Commands() {
		disableAutoGenTag(sub)
	}
}

// writeFile writes one generated file, reporting its path with any error.
func writeFile(path string, gen func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := gen(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
