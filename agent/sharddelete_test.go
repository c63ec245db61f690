package agent

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/efssync/efssync/config"
)

// gone builds a goneSet of total entries, owned of them this shard's, with
// delOwned and delOthers of each kind gone from the source.
func gone(total, owned, delOwned, delOthers int) goneSet {
	var g goneSet
	for i := range total {
		g.count(i < owned)
	}
	for i := range delOwned {
		g.add(fmt.Sprint("own", i), true)
	}
	for i := range delOthers {
		g.add(fmt.Sprint("other", i), false)
	}
	return g
}

// TestShardDeleteGuard: max_delete applies to a shard's share of the
// destination and to what all shards together would delete from the whole
// tree, which every shard sees in its own listing.
func TestShardDeleteGuard(t *testing.T) {
	tenth := func(n int) int { return n / 10 }
	sharded := &jobRun{shards: newShardPlan(config.Shard{Index: 1, Count: 4})}
	whole := &jobRun{}
	for _, tc := range []struct {
		j    *jobRun
		g    goneSet
		want string // "" when allowed
	}{
		{sharded, gone(400, 100, 5, 20), ""},
		{sharded, gone(400, 100, 11, 0), "11 of 100 entries of shard 1-of-4"},
		{sharded, gone(400, 100, 5, 50), "55 of 400 entries at d would be deleted by all 4 shards together"},
		{whole, gone(400, 400, 40, 0), ""},
		{whole, gone(400, 400, 41, 0), "41 of 400 entries at d"},
	} {
		err := tc.j.guardDelete(tc.g, "d", tenth, "10%")
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: refused: %v", tc.g, err)
		case tc.want != "" && (!errors.Is(err, ErrDeleteRefused) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("refusal %v lacks %q", err, tc.want)
		}
	}
}
