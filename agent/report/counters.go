package report

import (
	"sync/atomic"
	"time"
)

// Summary counts what a run did, for the log and the exit status.
type Summary struct {
	Files, Dirs, Links        int64
	Copied, Skipped, Deleted  int64
	Failed, Changed, Vanished int64
	Bytes                     int64
	// Planned counts what a dry run would copy, link or create.
	Planned int64
	// Opened counts source files opened for reading: 0 on an unchanged run.
	Opened int64
	// Adopted counts files a destination already held, recorded unsent.
	Adopted    int64
	JobErrors  []error
	Duration   time.Duration
	ReportPath string
	// Interrupted: a signal stopped a once-mode run before it finished.
	Interrupted bool
	// Unsupported counts source entries left out: FIFOs, sockets, devices,
	// names of efssync's temp files (StatusUnsupported).
	Unsupported int64
	// Stopped counts files cut short by the end of the run's context (an
	// interrupt): not sent, not failed, left for the next run.
	Stopped int64
}

// OK reports whether everything is in sync: the exit status 0.
func (s *Summary) OK() bool {
	return s.Failed == 0 && s.Changed == 0 && s.Stopped == 0 && len(s.JobErrors) == 0 && !s.Interrupted
}

// Counters are one job's live counts, updated by many workers at once and
// read by the progress display while the job runs.
type Counters struct {
	Files, Dirs, Links                        atomic.Int64
	Copied, Skipped, Deleted, Failed, Changed atomic.Int64
	Vanished, Bytes, Planned, PlannedBytes    atomic.Int64
	Opened                                    atomic.Int64
	Adopted                                   atomic.Int64
	Unsupported                               atomic.Int64
	Stopped                                   atomic.Int64
	// WalkDone is set once the walk has found everything there is to
	// plan: before it, the planned total is only what was found so far.
	WalkDone atomic.Bool
	// Read counts source bytes read (the progress rate); Bytes counts
	// bytes of files that were published.
	Read atomic.Int64
}

// AddTo adds c's counts to s.
func (c *Counters) AddTo(s *Summary) {
	s.Files += c.Files.Load()
	s.Dirs += c.Dirs.Load()
	s.Links += c.Links.Load()
	s.Copied += c.Copied.Load()
	s.Skipped += c.Skipped.Load()
	s.Deleted += c.Deleted.Load()
	s.Failed += c.Failed.Load()
	s.Changed += c.Changed.Load()
	s.Vanished += c.Vanished.Load()
	s.Bytes += c.Bytes.Load()
	s.Opened += c.Opened.Load()
	s.Planned += c.Planned.Load()
	s.Adopted += c.Adopted.Load()
	s.Unsupported += c.Unsupported.Load()
	s.Stopped += c.Stopped.Load()
}
