package agent

import "fmt"

// checkOverlaps judges again, as the jobs start, whether a source, a
// destination or the agent's state overlap on resolved paths: mounts and
// symlinks may have changed since the configuration was loaded (issue 11,
// D2, D8, D9). The error wraps the *config.ValidationError naming both
// keys, which the command turns into exit status 2; no job starts.
func (a *Agent) checkOverlaps() error {
	if err := a.cfg.CheckOverlaps(); err != nil {
		return fmt.Errorf("at start: %w", err)
	}
	return nil
}
