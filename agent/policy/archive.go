package policy

import "github.com/efssync/efssync/config"

// Archives reports whether job releases its sources once they are archived
// (after_archive: delete). The plan (an unchanged file becomes an archive
// task), the follow-up of a copy, and adoption (which then reads a
// destination's copy back) all ask it, so they never disagree on a job.
func Archives(job config.Job) bool { return job.AfterArchive == "delete" }
