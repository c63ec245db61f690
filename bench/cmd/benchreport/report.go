package main

import (
	"fmt"
	"strconv"
	"strings"
)

var (
	tools     = []string{"efssync", "cp", "rsync", "fpsync", "rclone"}
	toolNames = map[string]string{"efssync": "efssync", "cp": "cp -a", "rsync": "rsync -a", "fpsync": "fpsync (best -n)", "rclone": "rclone copy (best --transfers)"}
	dsNames   = map[string]string{
		"small":  "5,000 files of 1–16 KiB in 200 dirs",
		"medium": "20,000 files of 1–16 KiB in 200 dirs",
		"large":  "2 files of 256 MiB",
		"huge":   "1,000,000 files of 1–4 KiB in 1,000 dirs",
	}
	dsOrder  = []string{"small", "medium", "large", "huge"}
	opsShown = []string{"lookup", "getattr", "create", "mkdir", "open", "write", "flush", "setattr", "rename", "release", "setxattr"}
)

// writeReport writes the generated part of the report: the machine, the
// time and memory tables of each target, the targets, adoption, the
// operations per file and the exact commands.
func writeReport(b *strings.Builder, rows []row, meta map[string]string, order []string, commands string) {
	cells := summarize(rows, fileCounts(meta))
	writeMachine(b, meta, order)
	for _, t := range []struct{ target, title string }{
		{"tmpfs", "Plain tmpfs to tmpfs (no FUSE): the tools' own overhead"},
		{"efs", "Into the simulated EFS mount (latencyfs, profile " + meta["profile"] + ")"},
	} {
		fmt.Fprintf(b, "\n### %s\n\n", t.title)
		writeToolTable(b, cells, t.target, func(c, ref *cell, tool string) (string, bool) {
			return fmtCell(c, ref, tool == "fpsync" || tool == "rclone"), c != nil
		})
		fmt.Fprintf(b, "\nPeak RSS in MiB (median; for fpsync the largest process of the run):\n\n")
		writeToolTable(b, cells, t.target, func(c, _ *cell, _ string) (string, bool) {
			if c == nil || c.runs == 0 {
				return "—", false
			}
			return fmt.Sprintf("%.0f", c.rssKB/1024), true
		})
	}
	writeTargets(b, cells)
	writeAdoption(b, cells)
	writeOps(b, cells)
	writeCommands(b, commands)
}

// fileCounts reads the number of files of each data set from the meta
// file, to turn operation counts into operations per file.
func fileCounts(meta map[string]string) map[string]float64 {
	files := map[string]float64{}
	for _, ds := range dsOrder {
		if v, err := strconv.ParseFloat(meta["files_"+ds], 64); err == nil {
			files[ds] = v
		}
	}
	return files
}

// writeMachine writes the heading, the machine description and how to
// read the cells.
func writeMachine(b *strings.Builder, meta map[string]string, order []string) {
	fmt.Fprintf(b, "## Results of %s\n\n", meta["date"])
	b.WriteString("| | |\n|---|---|\n")
	for _, k := range order {
		fmt.Fprintf(b, "| %s | %s |\n", k, meta[k])
	}
	if meta["efssync_built"] == "0" {
		b.WriteString("\n**efssync did not build for this run; its columns are empty.**\n")
	}
	b.WriteString("\nCells: median wall time in seconds, then (time ÷ efssync time): above 1× efssync is faster. " +
		"*first* syncs into an empty destination; *rerun* syncs the same tree again unchanged. " +
		"The runs of a data set are interleaved: every tool once, then every tool again, so that load from other users of the machine falls on all tools alike. " +
		"fpsync and rclone show their best N (in brackets). — : not run; failed: the tool exited non-zero or left files missing.\n")
}

// writeToolTable writes a table of one column per tool and one row per data
// set and phase on target. text gives a cell's text and whether it holds a
// measurement; a row without any is left out.
func writeToolTable(b *strings.Builder, cells map[key]*cell, target string, text func(c, ref *cell, tool string) (string, bool)) {
	b.WriteString("| data set | sync |")
	for _, tool := range tools {
		fmt.Fprintf(b, " %s |", toolNames[tool])
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---:|", len(tools)) + "\n")
	for _, ds := range dsOrder {
		for _, phase := range []string{"first", "rerun"} {
			ref := cells[key{ds, target, "efssync", "", phase}]
			line := fmt.Sprintf("| %s | %s |", dsNames[ds], phase)
			seen := false
			for _, tool := range tools {
				s, ok := text(best(cells, ds, target, tool, phase), ref, tool)
				line += " " + s + " |"
				seen = seen || ok
			}
			if seen {
				b.WriteString(line + "\n")
			}
		}
	}
}

// writeOps writes the FUSE operations per file of each tool on the
// simulated EFS mount.
func writeOps(b *strings.Builder, cells map[key]*cell) {
	b.WriteString("\n### Operations per file on the simulated EFS mount\n\n" +
		"FUSE requests that reached the mount divided by the number of files, from the latencyfs counters " +
		"(5,000-file set; the kernel caches entries and attributes for 1 s, so repeated stats are partly absorbed).\n\n")
	b.WriteString("| tool | sync | total |")
	for _, op := range opsShown {
		fmt.Fprintf(b, " %s |", op)
	}
	b.WriteString(" modelled delay per file |\n|---|---|---:|" + strings.Repeat("---:|", len(opsShown)) + "---:|\n")
	for _, tool := range tools {
		for _, phase := range []string{"first", "rerun"} {
			if c := best(cells, "small", "efs", tool, phase); c != nil && c.opsFile != nil {
				writeOpsRow(b, c, tool, phase)
			}
		}
	}
}

// writeOpsRow writes one tool's operations per file for one phase.
func writeOpsRow(b *strings.Builder, c *cell, tool, phase string) {
	total := 0.0
	for op, v := range c.opsFile {
		if !strings.Contains(op, "_") {
			total += v
		}
	}
	name := toolNames[tool]
	if c.n != "" {
		name = fmt.Sprintf("%s [%s]", strings.Fields(name)[0], c.n)
	}
	fmt.Fprintf(b, "| %s | %s | %.1f |", name, phase, total)
	for _, op := range opsShown {
		fmt.Fprintf(b, " %.2f |", c.opsFile[op])
	}
	fmt.Fprintf(b, " %.1f ms |\n", c.opsFile["delay_ns"]/1e6)
}

// writeCommands writes the exact commands of the run and the efssync
// configuration they used.
func writeCommands(b *strings.Builder, commands string) {
	b.WriteString("\n### Exact commands\n\n`$WORK` is the temporary work directory, `$SRC` the data set under " +
		"`$WORK/tmpfs/src`, `$DST` a fresh directory under `$WORK/tmpfs/dst` (tmpfs) or `$WORK/mnt` (the latencyfs mount, " +
		"backed by `$WORK/tmpfs/efs`), `$STATE` a fresh per-run state directory. fpsync's `-f` is the file count ÷ 2N (at least 50). " +
		"The efssync configuration is:\n\n```yaml\nstate_dir: $STATE/efssync\njobs:\n  - name: bench\n    source: $SRC\n" +
		"    destinations:\n      - type: fs\n        path: $DST\n```\n\n```\n")
	b.WriteString(strings.TrimRight(commands, "\n") + "\n```\n")
}

// fmtCell formats a median time with its ratio to efssync's, the best N
// when showN, and the number of failed runs.
func fmtCell(c, ref *cell, showN bool) string {
	if c == nil {
		return "—"
	}
	if c.runs == 0 {
		return "failed"
	}
	s := fmt.Sprintf("%.2f s", c.secs)
	if ref != nil && ref.runs > 0 && ref.secs > 0 && c != ref {
		s += fmt.Sprintf(" (%.1f×)", c.secs/ref.secs)
	}
	if showN && c.n != "" {
		s += " [" + c.n + "]"
	}
	if c.failed > 0 {
		s += fmt.Sprintf(" (%d failed)", c.failed)
	}
	return s
}
