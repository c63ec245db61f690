package agent

import (
	"errors"
	"fmt"

	"github.com/efssync/efssync/manifest"
)

// damagedHint adds to a manifest that cannot be read what the operator
// can do about it: every later run would fail the same way. The manifest
// only saves work (the destinations hold the data), so it can be moved
// aside and rebuilt; adoption takes the existing replica over without
// copying it again. err is returned as it is for any other failure.
func damagedHint(path string, err error) error {
	if !errors.Is(err, manifest.ErrCorrupt) {
		return err
	}
	return fmt.Errorf("%w\nto recover: move the damaged manifest aside (mv %q %q) and run again; "+
		"a new manifest is built, and adoption (the job key adopt: true, the default) takes over the files already at the destinations "+
		"instead of copying them again", err, path, path+".damaged")
}
