package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/efssync/efssync/agent/report"
	"github.com/efssync/efssync/agent/summary"
)

// The report query commands read the configuration's report_dir, so an
// operator asks "what failed last night?" without naming files. They exit
// 0 when the question was answered (whatever the answer), 2 when it could
// not be asked (bad RUN, pattern or duration, unreadable directory); only
// `report last` judges the run, like `report summary`.

// foundLine is a report line with the report it came from.
type foundLine struct {
	Report string `json:"report"`
	report.Line
}

// reportDir is the report directory of the configuration --config names.
func (g *globals) reportDir() (string, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return "", err
	}
	return cfg.ReportDir, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newReportLastCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "last",
		Short: "Summarise the newest run report: files, bytes and failures per destination",
		Long: "Summarise the newest report in the configuration's report_dir (newest by its last line). " +
			"Exits 0 when that run left everything in sync, 1 when it failed something, was killed or is damaged.",
		Example: `  efssync report last -c /etc/efssync/config.yaml
  efssync report last -c config.yaml --json | jq .reports[0].failed`,
		Args: cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			dir, err := g.reportDir()
			if err != nil {
				return err
			}
			runs, err := summary.Runs(dir)
			if err != nil {
				return usageError{err}
			}
			if len(runs) == 0 {
				return usageError{fmt.Errorf("report directory %s holds no report (*.jsonl)", dir)}
			}
			return printSummary(g.stdout, runs[:1], 0, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON")
	return cmd
}

// printSummary merges reports and prints them as `report summary` does:
// errSyncFailed when they are not all in sync.
func printSummary(w io.Writer, reports []*summary.Report, count int, asJSON bool) error {
	sum, err := summary.Merge(reports, count)
	if err != nil {
		return usageError{err}
	}
	if asJSON {
		err = writeJSON(w, struct {
			OK bool `json:"ok"`
			*summary.Summary
		}{sum.OK(), sum})
	} else {
		err = sum.WriteText(w)
	}
	if err != nil {
		return err
	}
	if !sum.OK() {
		return errSyncFailed
	}
	return nil
}

func newReportFailedCmd(g *globals) *cobra.Command {
	var asJSON bool
	var since time.Duration
	cmd := &cobra.Command{
		Use:   "failed",
		Short: "List the entries that failed, changed or were interrupted in recent runs, newest run first",
		Long: "List every failed, changed and interrupted line of the reports in the configuration's report_dir " +
			"whose run ended within --since, newest run first, and the runs that were killed. Exits 0 when the " +
			"reports could be read, whether or not anything failed.",
		Example: `  efssync report failed -c /etc/efssync/config.yaml
  efssync report failed -c config.yaml --since 1h
  efssync report failed -c config.yaml --json | jq -r '.[].path'`,
		Args: cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if since <= 0 {
				return usageError{fmt.Errorf("--since must be a positive duration like 24h or 30m, got %s", since)}
			}
			dir, err := g.reportDir()
			if err != nil {
				return err
			}
			runs, err := summary.Runs(dir)
			if err != nil {
				return usageError{err}
			}
			cutoff := time.Now().Add(-since)
			found := []foundLine{}
			var killed []string
			for _, r := range runs {
				if r.Last.Before(cutoff) {
					break // newest first: the rest are older still
				}
				if r.Killed {
					killed = append(killed, r.Path)
				}
				lines, err := linesOf(r.Path, func(l report.Line) bool { return summary.Failing(l.Status) })
				if err != nil {
					return err
				}
				found = append(found, lines...)
			}
			if asJSON {
				return writeJSON(g.stdout, found)
			}
			writeLines(g.stdout, found)
			for _, k := range killed {
				fmt.Fprintf(g.stdout, "killed (no closing line; its lines may be incomplete): %s\n", k)
			}
			if len(found) == 0 && len(killed) == 0 {
				fmt.Fprintf(g.stdout, "nothing failed in the runs of the last %s\n", since)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the lines as a JSON array, each with its report file")
	cmd.Flags().DurationVar(&since, "since", 24*time.Hour, "only runs whose last line is this recent")
	return cmd
}

func newReportShowCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show RUN",
		Short: "Print every line of one run's report",
		Long: "Print every line of one report of the configuration's report_dir. RUN is the report's file name, " +
			"or any prefix of it that names one file (`report last`, `report failed` and `ls` show the names).",
		Example: `  efssync report show -c config.yaml run-20261206T221500
  efssync report show -c config.yaml run-20261206T221500.123456789Z.jsonl --json`,
		Args: exactArgs(1, "RUN, a report file name or a prefix of one"),
		RunE: func(_ *cobra.Command, args []string) error {
			dir, err := g.reportDir()
			if err != nil {
				return err
			}
			p, err := summary.FindRun(dir, args[0])
			if err != nil {
				return usageError{err}
			}
			found, err := linesOf(p, func(report.Line) bool { return true })
			if err != nil {
				return err
			}
			if !asJSON {
				fmt.Fprintf(g.stdout, "%s\n", p)
			}
			return printLines(g.stdout, found, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the lines as a JSON array")
	return cmd
}

func newReportFilesCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "files PATTERN",
		Short: "Find a path in every run's report: what happened to it, newest run first",
		Long: "List the lines, across every report of the configuration's report_dir, whose path matches PATTERN, " +
			"newest run first. PATTERN is a glob (*, ?, [...]; * does not cross /) matched against the whole path " +
			"relative to the job's source, and, when it has no /, against the path's last element too.",
		Example: `  efssync report files -c config.yaml 'live/*.m3u8'
  efssync report files -c config.yaml '*.mp4' --json | jq -r '.[] | [.time, .status, .path] | @tsv'`,
		Args: exactArgs(1, "PATTERN, a glob of paths"),
		RunE: func(_ *cobra.Command, args []string) error {
			pattern := args[0]
			if _, err := path.Match(pattern, ""); err != nil {
				return usageError{fmt.Errorf("pattern %q: %w", pattern, err)}
			}
			dir, err := g.reportDir()
			if err != nil {
				return err
			}
			runs, err := summary.Runs(dir)
			if err != nil {
				return usageError{err}
			}
			found := []foundLine{}
			for _, r := range runs {
				inRun, err := linesOf(r.Path, func(l report.Line) bool {
					return l.Status != report.StatusStarted && l.Status != report.StatusEnded && pathMatches(pattern, l.Path)
				})
				if err != nil {
					return err
				}
				// Newest first within the run too.
				for i := len(inRun) - 1; i >= 0; i-- {
					found = append(found, inRun[i])
				}
			}
			return printLines(g.stdout, found, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the lines as a JSON array, each with its report file")
	return cmd
}

// linesOf returns the lines of one report that keep accepts; an
// unreadable report exits 2.
func linesOf(path string, keep func(report.Line) bool) ([]foundLine, error) {
	found := []foundLine{}
	err := summary.ScanLines(path, func(l report.Line) error {
		if keep(l) {
			found = append(found, foundLine{Report: path, Line: l})
		}
		return nil
	})
	if err != nil {
		return nil, usageError{err}
	}
	return found, nil
}

// printLines prints lines as a JSON array or as a table.
func printLines(w io.Writer, found []foundLine, asJSON bool) error {
	if asJSON {
		return writeJSON(w, found)
	}
	writeLines(w, found)
	return nil
}

// pathMatches matches a glob against the whole path and, for a pattern
// without a slash, against the last element: "*.mp4" finds a/b/c.mp4.
func pathMatches(pattern, p string) bool {
	if ok, _ := path.Match(pattern, p); ok {
		return true
	}
	if strings.ContainsRune(pattern, '/') {
		return false
	}
	ok, _ := path.Match(pattern, path.Base(p))
	return ok
}

// writeLines prints report lines as a table for a person.
func writeLines(w io.Writer, lines []foundLine) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, l := range lines {
		what := l.Path
		switch l.Status {
		case report.StatusStarted:
			what = fmt.Sprintf("pid %d %s", l.PID, strings.Join(l.Flags, " "))
		case report.StatusEnded:
			what = fmt.Sprintf("%d unchanged", l.Unchanged)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", l.Time.Local().Format(time.DateTime), l.Job, orDash(l.Dest), l.Status, what, l.Error)
	}
	_ = tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// exactArgs is cobra.ExactArgs with a message that names what is missing;
// the error exits 2.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{errors.New("want " + what + fmt.Sprintf(", got %d arguments", len(args)))}
		}
		return nil
	}
}
