package agent

import "fmt"

// goneSet is what a mirror delete found at one destination: the entries
// listed, and those the source no longer has, split into this shard's (to
// delete) and other shards' (left to them). Unsharded, everything is owned.
type goneSet struct {
	total, totalOwned int
	owned, others     []string
}

func (g *goneSet) count(owned bool) {
	g.total++
	if owned {
		g.totalOwned++
	}
}

func (g *goneSet) add(rel string, owned bool) {
	if owned {
		g.owned = append(g.owned, rel)
	} else {
		g.others = append(g.others, rel)
	}
}

// guardDelete applies max_delete to what this shard would delete out of
// the entries it owns at the destination, and, when sharded, also to what
// every shard together would delete out of the whole tree: each shard
// lists the whole destination, so each refuses alone what all of them
// together would refuse, and no shard wipes its part because its share
// happens to be small.
func (j *jobRun) guardDelete(g goneSet, dest string, limit func(int) int, ruleText string) error {
	if n := limit(g.totalOwned); len(g.owned) > n {
		what := "entries"
		if j.shards != nil {
			what = fmt.Sprintf("entries of shard %s", j.shards.s)
		}
		return fmt.Errorf("%w: %d of %d %s at %s would be deleted, more than max_delete %s allows (%d); raise max_delete if this is intended",
			ErrDeleteRefused, len(g.owned), g.totalOwned, what, dest, ruleText, n)
	}
	if j.shards == nil {
		return nil
	}
	all := len(g.owned) + len(g.others)
	if n := limit(g.total); all > n {
		return fmt.Errorf("%w: %d of %d entries at %s would be deleted by all %d shards together, more than max_delete %s allows (%d); raise max_delete if this is intended",
			ErrDeleteRefused, all, g.total, dest, j.shards.s.Count, ruleText, n)
	}
	return nil
}

// forgetOthers drops this shard's manifest records of paths gone from the
// source that another shard deletes: the directories every shard created,
// and the names of hard-link groups this shard owned whose path hashes to
// another shard. The record would otherwise outlive the entry.
func (j *jobRun) forgetOthers(b batcher, others []string) {
	for _, rel := range others {
		b.Delete(j.job.Name, rel)
	}
}
