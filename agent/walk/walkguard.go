package walk

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/efssync/efssync/config"
)

// Guards holds, by device and inode, the directories a job's walk of
// its source must never enter: the job's fs destination roots and the
// agent's state. Validation compares resolved paths, but a bind mount (or
// any other alias the path does not show) can still put a destination
// inside the source; without this guard the tree copied itself into itself
// until the path grew too long. The value says what the directory is.
type Guards map[[2]uint64]string

// GuardsOf collects the directories job's walk must not enter. A path
// that does not exist yet guards nothing: it cannot be inside the source.
func GuardsOf(cfg *config.Config, job config.Job) Guards {
	g := Guards{}
	add := func(what, path string) {
		fi, err := os.Stat(path)
		if path == "" || err != nil || !fi.IsDir() {
			return
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			g[[2]uint64{uint64(st.Dev), st.Ino}] = fmt.Sprintf("%s %s", what, path)
		}
	}
	for k, d := range job.Destinations {
		if d.Type == "fs" {
			add(fmt.Sprintf("destinations[%d].path", k), d.Path)
		}
	}
	add("state_dir", cfg.StateDir)
	add("report_dir", cfg.ReportDir)
	if cfg.Manifest != "" {
		add("the manifest's directory", filepath.Dir(cfg.Manifest))
	}
	return g
}

// check refuses a walked directory that is one of the guarded ones.
func (g Guards) Check(e Entry) error {
	if len(g) == 0 || !e.Mode.IsDir() {
		return nil
	}
	if what, ok := g[[2]uint64{e.St.Dev, e.St.Ino}]; ok {
		return fmt.Errorf("source directory %s is %s (a bind mount or another alias of it): "+
			"a destination or the agent's state must not be inside the source; nothing below it was copied", e.Abs(), what)
	}
	return nil
}
