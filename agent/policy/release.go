package policy

import (
	"fmt"

	"github.com/efssync/efssync/manifest"
)

// ReleaseSource answers "may the source go after archiving?": only when
// every destination of the job, dests (the configuration's list, including
// destinations skipped or unusable in this run), holds a publication of
// exactly the recorded version. It returns nil, or why the source stays.
func ReleaseSource(rel string, dests []string, rec manifest.Record) error {
	for _, d := range dests {
		p, ok := rec.Dests.Get(d)
		if !ok {
			return fmt.Errorf("%s: not recorded as published at %s; source kept", rel, d)
		}
		if p.Size != rec.Size || !p.ModTime.Equal(rec.ModTime) || p.Hash != rec.Hash {
			return fmt.Errorf("%s: %s holds another version than the source's; source kept", rel, d)
		}
	}
	return nil
}
