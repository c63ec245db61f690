package agent

import (
	"github.com/efssync/efssync/agent/policy"
)

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
	c := policy.DeleteCheck{Source: j.job.Source, Dest: dest, Gone: len(g.owned), Owned: g.totalOwned, Limit: limit, Rule: ruleText}
	if j.shards != nil {
		c.Shard, c.Shards = j.shards.s.String(), j.shards.s.Count
		c.AllGone, c.Total = len(g.owned)+len(g.others), g.total
	}
	return policy.DeleteAllowed(c)
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
