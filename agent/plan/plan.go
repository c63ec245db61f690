package plan

import (
	"io/fs"

	"github.com/efssync/efssync/agent/policy"
	"github.com/efssync/efssync/agent/walk"

	"github.com/efssync/efssync/manifest"
)

// Kind is what the execute step does with one entry.
type Kind int

// The kinds of work a planned entry turns into.
const (
	KindSkip Kind = iota
	KindCopy
	KindRehash // checksum mode: read and hash, copy only if the content differs
	KindMkdir
	KindSymlink
	KindLink
	// KindArchive: the file is published everywhere; verify the copies and
	// remove the source (after_archive: delete).
	KindArchive
	// KindAdopt: a destination already held the file; it was recorded
	// without being sent (agent/adopt.go).
	KindAdopt
)

// String names the kind in reports and dry-run output.
func (k Kind) String() string {
	return [...]string{"skip", "copy", "rehash", "mkdir", "symlink", "link", "archive", "adopt"}[k]
}

// Action is the plan for one entry: what to do and at which destinations.
type Action struct {
	Kind Kind
	// Dests holds the indexes of the destinations that need the entry.
	Dests []int
}

// Strategy answers the one question of the plan step, after s5cmd's sync
// strategies: does this entry need sending, and where? It never reads file
// content; that is what makes an unchanged run cheap.
type Strategy interface {
	Plan(e walk.Entry, st walk.Stat, rec manifest.Record, known bool, dests []string) Action
}

// StatStrategy trusts size, mtime, ctime and inode: equal means unchanged.
// With checksum set, a file that looks unchanged is re-hashed instead.
type StatStrategy struct {
	Checksum bool
}

func (s StatStrategy) Plan(e walk.Entry, st walk.Stat, rec manifest.Record, known bool, dests []string) Action {
	mode := e.Mode
	var kind Kind
	switch {
	case mode.IsDir():
		kind = KindMkdir
	case mode&fs.ModeSymlink != 0:
		kind = KindSymlink
	case mode.IsRegular():
		kind = KindCopy
	default:
		return Action{Kind: KindSkip} // devices, sockets, fifos are not replicated
	}
	unchanged := known && policy.SourceUnchanged(policy.RecordIdentity(rec), policy.FileIdentity(st, e.Mode))
	if kind == KindMkdir {
		// A directory's mtime moves with its children; only its mode matters.
		unchanged = known && rec.Mode == mode
	}
	var need []int
	for i, name := range dests {
		if policy.NeedsTransfer(unchanged, rec, name) {
			need = append(need, i)
		}
	}
	if len(need) == 0 {
		if s.Checksum && kind == KindCopy {
			all := make([]int, len(dests))
			for i := range all {
				all[i] = i
			}
			return Action{Kind: KindRehash, Dests: all}
		}
		return Action{Kind: KindSkip}
	}
	return Action{Kind: kind, Dests: need}
}
