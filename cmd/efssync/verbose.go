package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/efssync/efssync/agent"
)

// lineEcho prints each report line as it happens: -v shows what was
// copied, deleted, adopted or failed, -vv unchanged entries too; with
// --json each is a JSON object ("type": "file") on the same stdout as the
// summary.
type lineEcho struct {
	mu    sync.Mutex
	w     io.Writer
	level int
	json  bool
}

// Line prints l if the verbosity asks for it.
func (e *lineEcho) Line(l agent.Line) {
	if l.Status == agent.StatusSkipped && e.level < 2 || l.Status == agent.StatusStarted {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.json {
		_ = json.NewEncoder(e.w).Encode(struct {
			Type string `json:"type"`
			agent.Line
		}{"file", l})
		return
	}
	text := fmt.Sprintf("%-11s %s", l.Status, l.Path)
	if l.Path == "" {
		text = fmt.Sprintf("%-11s", l.Status)
	}
	if l.Dest != "" {
		text += "  -> " + l.Dest
	}
	if l.Error != "" {
		text += ": " + l.Error
	}
	fmt.Fprintln(e.w, text)
}
