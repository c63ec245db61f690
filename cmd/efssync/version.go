package main

// `efssync version` and `efssync --version`: which build is running, so an
// operator can tell a bug report, a package and a running agent apart.

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Set by the linker for release builds (goreleaser, `make build`):
// -X main.version=1.2.3 -X main.commit=<sha> -X main.date=<RFC 3339>.
// Left empty, the values come from the build info the go tool stamps.
var (
	version = ""
	commit  = ""
	date    = ""
)

// linked holds the values set with -X at link time; empty when unset.
type linked struct{ version, commit, date string }

// buildInfo is what the version output reports: where each value came from
// matters less than that a package, a go install and a git checkout all
// name their commit.
type buildInfo struct {
	Version  string // release version, module version, or "dev"
	Commit   string // full VCS revision; "unknown" without VCS stamping
	Modified bool   // the tree had uncommitted changes when built
	Date     string // build date of a release, else the commit's time (vcs.time)
	Go       string // Go toolchain version
	Platform string // GOOS/GOARCH
}

// readBuildInfo merges the linker's values (which win: goreleaser sets them
// from the tag it releases) with the go tool's build info (vcs.revision,
// vcs.time, vcs.modified, the module version of a `go install`).
func readBuildInfo(l linked, bi *debug.BuildInfo) buildInfo {
	info := buildInfo{
		Version: "dev", Commit: "unknown", Date: "unknown",
		Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi != nil {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			info.Version = v
		}
		if bi.GoVersion != "" {
			info.Go = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Commit = s.Value
			case "vcs.time":
				info.Date = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	}
	if l.version != "" {
		info.Version = l.version
	}
	if l.commit != "" {
		info.Commit = l.commit
	}
	if l.date != "" {
		info.Date = l.date
	}
	return info
}

// currentBuildInfo is the build info of the running binary.
func currentBuildInfo() buildInfo {
	bi, _ := debug.ReadBuildInfo()
	return readBuildInfo(linked{version, commit, date}, bi)
}

// String is the multi-line text both `version` and `--version` print; the
// first line, "efssync VERSION", is what scripts match on.
func (b buildInfo) String() string {
	var s strings.Builder
	fmt.Fprintf(&s, "efssync %s\n", b.Version)
	c := b.Commit
	if b.Modified {
		c += " (modified)"
	}
	fmt.Fprintf(&s, "commit: %s\n", c)
	fmt.Fprintf(&s, "date:   %s\n", b.Date)
	fmt.Fprintf(&s, "go:     %s %s\n", b.Go, b.Platform)
	return s.String()
}

// setVersionFlag gives the root command --version with the same text as
// `efssync version`.
func setVersionFlag(root *cobra.Command) {
	info := currentBuildInfo()
	root.Version = info.Version
	// Declared here, without a shorthand, so cobra does not give it -v:
	// -v is --verbose, as in rsync and rclone.
	root.Flags().Bool("version", false, "print the version, commit, build date and Go version")
	// cobra parses the template: a "{{" in a linker-set value is quoted.
	root.SetVersionTemplate(strings.ReplaceAll(info.String(), "{{", `{{"{{"}}`))
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, build date and Go version",
		Example: `  efssync version
  efssync --version | head -1`,
		Args: cobra.NoArgs,
		Run: func(*cobra.Command, []string) {
			fmt.Fprint(g.stdout, currentBuildInfo().String())
		},
	}
}
