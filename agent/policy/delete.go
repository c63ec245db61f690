package policy

import (
	"errors"
	"fmt"
	"strings"
)

// ErrDeleteRefused is returned when the delete guard stops a delete: the
// source looks unmounted or emptied, or too much would go.
var ErrDeleteRefused = errors.New("mirror delete refused; nothing was deleted")

// DeleteCheck is what a mode knows when it is about to delete at a
// destination what its source no longer has.
type DeleteCheck struct {
	// Source names the source in the refusal: a directory, or a bucket.
	Source string
	// SourceEmpty: the walk found nothing, or the listing listed nothing.
	// An unmounted source looks like that and must not wipe the replica.
	SourceEmpty bool
	// Listing: the source is an S3 listing, not a directory.
	Listing bool
	// Dest names the destination.
	Dest string
	// Gone of Owned: what would be deleted, out of what this agent owns at
	// the destination (every entry when unsharded).
	Gone, Owned int
	// Recent is what this destination already deleted within watch mode's
	// rolling window, less what it published there (DeleteWindow); it
	// counts with Gone against max_delete, so deletes made one event at a
	// time are judged together, and a tree that does not shrink (a live
	// stream's sliding window) is not refused.
	Recent int
	// Shard names this agent's shard ("" when unsharded); with a shard,
	// AllGone of Total is what every shard together would delete.
	Shard          string
	Shards         int
	AllGone, Total int
	// Limit is max_delete as a function of the number of entries; Rule is
	// its text for messages. A nil Limit checks only the source.
	Limit func(int) int
	Rule  string
}

// Budget is how many entries may go now: max_delete's share of the tree,
// less what the window already deleted. A tree that grew meanwhile (Recent
// below 0) has more room. Limit must be set.
func (c DeleteCheck) Budget() int {
	return c.Limit(c.Owned) - c.Recent
}

// DeleteAllowed is the one delete guard: once mode's mirror delete, watch
// mode's sweeps and its deletes one event at a time, restore's mirror
// delete, and gc ask it before anything goes. It returns nil or an error
// wrapping ErrDeleteRefused that says why.
func DeleteAllowed(c DeleteCheck) error {
	switch {
	case c.SourceEmpty && c.Listing:
		return fmt.Errorf("%w: source %s lists no object (wrong bucket or prefix?)", ErrDeleteRefused, c.Source)
	case c.SourceEmpty:
		return fmt.Errorf("%w: source %s is empty (is it mounted?)", ErrDeleteRefused, c.Source)
	}
	if c.Limit == nil {
		return nil
	}
	if c.Gone > c.Budget() {
		n := c.Budget() + c.Recent
		what := "entries"
		if c.Shard != "" {
			what = "entries of shard " + c.Shard
		}
		if c.Recent > 0 {
			return fmt.Errorf("%w: %d of %d %s at %s were deleted within the rolling window and %d more would go, more than max_delete %s allows (%d); the rest is left for the next rescan or the operator",
				ErrDeleteRefused, c.Recent, c.Owned, what, c.Dest, c.Gone, c.Rule, n)
		}
		return fmt.Errorf("%w: %d of %d %s at %s would be deleted, more than max_delete %s allows (%d); raise max_delete if this is intended",
			ErrDeleteRefused, c.Gone, c.Owned, what, c.Dest, c.Rule, n)
	}
	if c.Shard == "" {
		return nil
	}
	if n := c.Limit(c.Total); c.AllGone > n {
		return fmt.Errorf("%w: %d of %d entries at %s would be deleted by all %d shards together, more than max_delete %s allows (%d); raise max_delete if this is intended",
			ErrDeleteRefused, c.AllGone, c.Total, c.Dest, c.Shards, c.Rule, n)
	}
	return nil
}

// KeepAncestors answers "may this directory go?" for a mirror delete: a
// directory goes only with everything it holds, and an entry that is kept
// (the filters leave it out, so it is never deleted) keeps every directory
// above it. It returns gone without those directories, in its order.
// Without it, include: ["*.txt"] had the delete try a directory holding a
// .bin on every run, fail with "directory not empty" and exit 1.
func KeepAncestors(gone, kept []string) []string {
	if len(kept) == 0 {
		return gone
	}
	held := map[string]bool{}
	for _, rel := range kept {
		for i := strings.LastIndexByte(rel, '/'); i > 0; i = strings.LastIndexByte(rel[:i], '/') {
			if held[rel[:i]] {
				break // its ancestors are in already
			}
			held[rel[:i]] = true
		}
	}
	out := gone[:0:0]
	for _, rel := range gone {
		if !held[rel] {
			out = append(out, rel)
		}
	}
	return out
}

// ReplaceMax answers "how many entries may go to replace an entry of the
// other type?" for both directions alike: the entry in the way goes as an
// overwritten file does, whatever the job's delete says; what lies below
// it (a directory's contents) counts against max_delete like any delete.
// limit is what max_delete allows; the result counts the entry itself.
func ReplaceMax(limit int) int { return limit + 1 }
