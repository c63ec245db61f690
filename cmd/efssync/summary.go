package main

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/efssync/efssync/agent"
)

// runSummary is the --json summary: one object on stdout, numbers as
// numbers, so `jq .failed` needs no parsing.
type runSummary struct {
	Type        string   `json:"type"`
	OK          bool     `json:"ok"`
	Interrupted bool     `json:"interrupted"`
	Files       int64    `json:"files"`
	Copied      int64    `json:"copied"`
	Adopted     int64    `json:"adopted"`
	Planned     int64    `json:"planned"`
	Unchanged   int64    `json:"unchanged"`
	Deleted     int64    `json:"deleted"`
	Unsupported int64    `json:"unsupported"`
	Failed      int64    `json:"failed"`
	Stopped     int64    `json:"interrupted_files"`
	Changed     int64    `json:"changed"`
	Vanished    int64    `json:"vanished"`
	Bytes       int64    `json:"bytes"`
	Seconds     float64  `json:"duration_seconds"`
	Report      string   `json:"report,omitempty"`
	JobErrors   []string `json:"job_errors,omitempty"`
}

// summarize tells the run's outcome: a log line, each job's error on
// stderr, and with --json the summary on stdout.
func (g *globals) summarize(log *slog.Logger, sum *agent.Summary, f *runFlags) error {
	log.Info("run finished", "interrupted", sum.Interrupted, "files", sum.Files, "copied", sum.Copied, "adopted", sum.Adopted, "planned", sum.Planned, "unchanged", sum.Skipped,
		"deleted", sum.Deleted, "unsupported", sum.Unsupported, "failed", sum.Failed, "interrupted_files", sum.Stopped, "changed", sum.Changed, "vanished", sum.Vanished,
		"bytes", sum.Bytes, "duration", sum.Duration.String(), "report", sum.ReportPath)
	var jobErrs []string
	for _, je := range sum.JobErrors {
		fmt.Fprintln(g.stderr, errorPrefix(g.stderr)+"efssync:", je)
		jobErrs = append(jobErrs, je.Error())
	}
	if !f.json {
		return nil
	}
	out := runSummary{Type: "summary", OK: sum.OK(), Interrupted: sum.Interrupted, Files: sum.Files, Copied: sum.Copied,
		Adopted: sum.Adopted, Planned: sum.Planned, Unchanged: sum.Skipped, Deleted: sum.Deleted, Unsupported: sum.Unsupported,
		Failed: sum.Failed, Stopped: sum.Stopped, Changed: sum.Changed, Vanished: sum.Vanished, Bytes: sum.Bytes, Seconds: sum.Duration.Seconds(),
		Report: sum.ReportPath, JobErrors: jobErrs}
	if err := json.NewEncoder(g.stdout).Encode(out); err != nil {
		return fmt.Errorf("--json: %w", err)
	}
	return nil
}
