package main

// The exit status is the one thing a script, a timer or systemd reads, so
// every command maps its outcome to one of five codes here, and nowhere
// else. The man page, `efssync --help`, docs/cli.md, the README and the
// systemd units all quote this table.

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/efssync/efssync/agent"
	"github.com/efssync/efssync/config"
)

// Exit codes of every efssync command.
const (
	// ExitOK: everything is in sync (or the command did what it was asked).
	ExitOK = 0
	// ExitFailed: some files failed, or some sources or destinations were
	// unusable while the rest synced; each one is logged and reported.
	ExitFailed = 1
	// ExitUsage: a usage or configuration error (unknown command or flag,
	// invalid configuration). Retrying cannot help, so systemd units list
	// it, and only it, in RestartPreventExitStatus.
	ExitUsage = 2
	// ExitInterrupted: SIGINT or SIGTERM stopped a once run before it
	// finished; the next run continues where it stopped.
	ExitInterrupted = 3
	// ExitNothingDone: nothing could be done: the source, or every
	// destination, of every job selected was unusable (a mount not there
	// yet, a bucket that refuses the credentials).
	ExitNothingDone = 4
)

// exitTable is the table `efssync --help` prints.
const exitTable = `Exit status:
  0  everything in sync
  1  some files failed, or some sources or destinations were unusable (each is logged)
  2  usage or configuration error (unknown command or flag, invalid configuration)
  3  interrupted by SIGINT or SIGTERM; the next run continues
  4  nothing could be done: every job's source, or all its destinations, unusable`

// usageError marks errors that exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// errSyncFailed marks a run that finished with files out of sync: exit 1.
var errSyncFailed = errors.New("some files are not in sync")

// errInterrupted marks a once run stopped by a signal before it finished.
var errInterrupted = errors.New("run interrupted before it finished: not everything is in sync")

// errNothingDone marks a run in which no job could start: exit 4.
var errNothingDone = errors.New("nothing could be done: every source or destination was unusable (logged above)")

// exitCode maps the error a command returned to the process's exit status.
func exitCode(err error) int {
	var ue usageError
	var ve *config.ValidationError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errInterrupted):
		return ExitInterrupted
	case errors.Is(err, errNothingDone):
		return ExitNothingDone
	case errors.As(err, &ue), errors.As(err, &ve), errors.Is(err, agent.ErrUnknownJob), isCobraUsage(err):
		return ExitUsage
	default:
		return ExitFailed
	}
}

// isCobraUsage recognises cobra's own complaints about the command line
// (unknown command, wrong arguments, a required flag missing), which carry
// no type of their own.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "unknown flag", "unknown shorthand flag", "required flag(s)"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return strings.Contains(msg, "requires at least") || strings.Contains(msg, "flag needs an argument") ||
		strings.Contains(msg, "if any flags in the group")
}

// requireSubcommand makes every command that only groups others (config,
// report, shards) refuse an unknown subcommand with exit 2: cobra would
// print the group's help and exit 0, and a script would read a typo as
// success. Called with no subcommand, a group prints its help.
func requireSubcommand(c *cobra.Command) {
	for _, sub := range c.Commands() {
		requireSubcommand(sub)
	}
	if c.Runnable() || !c.HasSubCommands() || !c.HasParent() {
		return
	}
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageError{fmt.Errorf("unknown command %q for %q; run '%s --help'", args[0], cmd.CommandPath(), cmd.CommandPath())}
		}
		return cmd.Help()
	}
}
