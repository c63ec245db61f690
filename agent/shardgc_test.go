package agent

import (
	"context"
	"testing"
)

// TestShardGCLeavesOtherShardsUploads: two shards share a bucket prefix.
// Shard 1 checkpointed an upload whose source version is gone; gc by shard
// 0 leaves it (and shard 0's tag for temp files differs from shard 1's),
// gc by shard 1 aborts it.
func TestShardGCLeavesOtherShardsUploads(t *testing.T) {
	s := newStaleUpload(t)
	f := s.f
	ctx := context.Background()
	one, err := New(f.shardConfig(1, 2), Options{})
	must(t, err)
	s.checkpoint(t, one)
	tagOne := one.tag
	must(t, one.Close())

	zero, err := New(f.shardConfig(0, 2), Options{})
	must(t, err)
	if zero.tag == tagOne {
		t.Errorf("shards 0 and 1 share the temp-file tag %s", tagOne)
	}
	n, err := zero.GC(ctx)
	must(t, zero.Close())
	must(t, err)
	if n != 0 {
		t.Errorf("gc of shard 0/2 removed %d", n)
	}
	if ups := s.uploads(t); len(ups) != 1 {
		t.Fatalf("after shard 0's gc, uploads %+v; want shard 1's", ups)
	}

	one, err = New(f.shardConfig(1, 2), Options{})
	must(t, err)
	n, err = one.GC(ctx)
	must(t, one.Close())
	must(t, err)
	if ups := s.uploads(t); n != 1 || len(ups) != 0 {
		t.Errorf("gc of shard 1/2 removed %d and left %+v; want its stale upload aborted", n, ups)
	}
}
