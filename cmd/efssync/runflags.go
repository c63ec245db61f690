package main

// The flags `run`, `copy` and `sync` share, spelled as rsync and rclone
// users type them. Scalar flags override the configuration for this run;
// filter flags add to the configuration's filters. Both are applied here,
// in one place, so the three commands cannot disagree on what a flag means.

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/efssync/efssync/agent/walk"
	"github.com/efssync/efssync/config"
)

// runFlags holds the shared flags of one invocation.
type runFlags struct {
	jobs        []string
	dryRun      bool
	verbose     int
	quiet       bool
	progress    bool
	stats       time.Duration
	json        bool
	report      string
	checkDest   bool
	exclude     []string
	include     []string
	excludeFrom []string
	filterFrom  []string
	delete      bool
	maxDelete   string
	bwlimit     string
	transfers   int
	checksum    bool

	// set is the command's flag set, to tell flags given from defaults
	// and to list the flags in force.
	set *pflag.FlagSet
	// rules are the --filter-from rules, read by apply.
	rules []walk.Rule
}

// register adds the shared flags to cmd. withJobs adds --job, which only a
// configuration's jobs give a meaning to.
func (f *runFlags) register(cmd *cobra.Command, withJobs bool) {
	fs := cmd.Flags()
	f.set = fs
	if withJobs {
		fs.StringSliceVar(&f.jobs, "job", nil, "run only this job (repeatable)")
	}
	fs.BoolVarP(&f.dryRun, "dry-run", "n", false, "print what would be copied, linked and deleted; change nothing")
	fs.CountVarP(&f.verbose, "verbose", "v", "one line per file copied, deleted or adopted on stdout; -vv adds unchanged files")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "print errors only: no progress, no summary")
	fs.BoolVar(&f.progress, "progress", false, "draw the progress line on stderr even when it is not a terminal")
	fs.DurationVar(&f.stats, "stats", 0, "log a stats line (files, bytes, rate, ETA) this often, e.g. 30s (overrides progress_interval)")
	fs.BoolVar(&f.json, "json", false, "write the summary (and with -v each file's line) as JSON lines on stdout")
	fs.StringVar(&f.report, "report", "", "write the JSON-lines report here (- for stdout) instead of the report directory")
	fs.BoolVar(&f.checkDest, "check-dest", false, "stat every destination entry and send again what is missing or differs (check_destination: true for every job)")
	fs.StringArrayVar(&f.exclude, "exclude", nil, "leave out paths matching this glob, added to the configuration's excludes (repeatable)")
	fs.StringArrayVar(&f.include, "include", nil, "sync only paths matching this glob, added to the configuration's includes (repeatable)")
	fs.StringArrayVar(&f.excludeFrom, "exclude-from", nil, "read exclude globs from this file, one a line; blank lines and lines starting # or ; are skipped")
	fs.StringArrayVar(&f.filterFrom, "filter-from", nil, "read rclone filter rules (+ GLOB, - GLOB, !) from this file; evaluated first, first match wins")
	fs.BoolVar(&f.delete, "delete", false, "delete at the destinations what is gone from the source (delete: mirror), within --max-delete")
	fs.StringVar(&f.maxDelete, "max-delete", "", `most deletes per run: a count ("1000") or a share of the destination's files ("10%")`)
	fs.StringVar(&f.bwlimit, "bwlimit", "", `bandwidth per job: a rate per second (10M is 10 MiB/s, "off") or rclone's timetable ("08:00,512k 19:00,off")`)
	fs.IntVar(&f.transfers, "transfers", 0, "files in flight at once (concurrency)")
	fs.BoolVar(&f.checksum, "checksum", false, "re-hash files that look unchanged (size and times equal) and send them again if they differ")
}

// check refuses combinations that cannot mean anything.
func (f *runFlags) check() error {
	if f.json && f.report == "-" {
		return usageError{errors.New("--json and --report - both write to stdout; give --report a file")}
	}
	if f.quiet && f.verbose > 0 {
		return usageError{errors.New("--quiet and --verbose contradict each other")}
	}
	if f.stats < 0 {
		return usageError{fmt.Errorf("--stats %s: must be positive", f.stats)}
	}
	return nil
}

// apply changes cfg for this run: scalar flags replace the configured
// value of every selected job, filter flags add to its filters. The
// result is validated again, so a bad flag value is reported like a bad
// key, naming the flag.
func (f *runFlags) apply(cfg *config.Config) error {
	if err := f.check(); err != nil {
		return err
	}
	excludes := slices.Clone(f.exclude)
	for _, file := range f.excludeFrom {
		pats, err := readPatterns(file)
		if err != nil {
			return usageError{fmt.Errorf("--exclude-from: %w", err)}
		}
		excludes = append(excludes, pats...)
	}
	for _, file := range f.filterFrom {
		rules, err := readFilterFile(file)
		if err != nil {
			return usageError{fmt.Errorf("--filter-from: %w", err)}
		}
		f.rules = append(f.rules, rules...)
	}
	if f.bwlimit != "" {
		if _, err := config.ParseBwLimit(f.bwlimit); err != nil {
			return usageError{fmt.Errorf("--bwlimit: %w", err)}
		}
	}
	if f.maxDelete != "" {
		if _, err := config.NewMaxDelete(f.maxDelete); err != nil {
			return usageError{fmt.Errorf("--max-delete: %w", err)}
		}
	}
	if f.set.Changed("transfers") && (f.transfers < 1 || f.transfers > config.MaxParallel) {
		return usageError{fmt.Errorf("--transfers must be from 1 to %d, got %d", config.MaxParallel, f.transfers)}
	}
	for i := range cfg.Jobs {
		j := &cfg.Jobs[i]
		if len(f.jobs) > 0 && !slices.Contains(f.jobs, j.Name) {
			continue
		}
		j.Exclude = append(j.Exclude, excludes...)
		j.Include = append(j.Include, f.include...)
		if f.delete {
			j.Delete = "mirror"
		}
		if f.maxDelete != "" {
			j.MaxDelete = f.maxDelete
		}
		if f.bwlimit != "" {
			// Checked above: it cannot fail here.
			_ = j.SetBwLimit(f.bwlimit)
		}
		if f.transfers > 0 {
			j.Concurrency = f.transfers
		}
		if f.checksum {
			j.Checksum = true
		}
		if f.checkDest {
			j.CheckDestination = true
		}
	}
	if f.stats > 0 {
		cfg.ProgressInterval = config.Duration(f.stats)
	}
	if f.quiet {
		cfg.LogLevel = "error"
	}
	if err := cfg.Validate(); err != nil {
		return usageError{fmt.Errorf("with the flags given: %w", err)}
	}
	return nil
}

// outputFlags change what is printed, not what the run does: they are not
// "in force" on the report's first line.
var outputFlags = map[string]bool{"report": true, "json": true, "verbose": true, "quiet": true, "progress": true,
	"stats": true, "cpuprofile": true, "config": true, "log-level": true, "no-manifest": true, "s3-endpoint": true, "s3-region": true, "s3-path-style": true}

// inForce lists the flags given on the command line that change the run
// (overrides, filters, --job, --dry-run), as --name=value, for the report's
// first line: a report then says under which overrides its files moved.
func (f *runFlags) inForce() []string {
	var out []string
	f.set.Visit(func(fl *pflag.Flag) {
		if outputFlags[fl.Name] {
			return
		}
		if sv, ok := fl.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				out = append(out, "--"+fl.Name+"="+v)
			}
			return
		}
		out = append(out, "--"+fl.Name+"="+fl.Value.String())
	})
	return out
}

// readPatterns reads one glob a line, as rsync's and rclone's
// --exclude-from do: blank lines and comments (# or ;) are skipped.
func readPatterns(path string) ([]string, error) {
	var out []string
	err := eachLine(path, func(_ int, line string) error {
		out = append(out, line)
		return nil
	})
	return out, err
}

// eachLine calls fn with every line of the file at path that is neither
// blank nor a comment, trailing white space removed.
func eachLine(path string, fn func(n int, line string) error) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \t\r")
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if err := fn(n, line); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
