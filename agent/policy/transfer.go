package policy

import "github.com/efssync/efssync/manifest"

// NeedsTransfer answers, for one destination, whether it needs the entry
// again: the source is not the recorded version, the destination holds no
// publication of it, or what it holds differs from the record in size,
// mtime or content. Files, directories, symlinks and restored objects all
// ask it (statStrategy.Plan, restore's plan), so no mode skips a
// destination that another mode would send to.
func NeedsTransfer(unchanged bool, rec manifest.Record, dest string) bool {
	p, ok := rec.Dests.Get(dest)
	return !unchanged || !ok || p.Size != rec.Size || !p.ModTime.Equal(rec.ModTime) || p.Hash != rec.Hash
}
