package hls

import (
	"slices"
	"testing"
)

func TestGateOrdering(t *testing.T) {
	var g Gate
	refs := []string{"live/init.mp4", "live/s1.m4s", "live/s2.m4s"}
	if got := g.Ready(refs); !slices.Equal(got, refs) {
		t.Fatalf("Ready on empty gate = %q", got)
	}
	g.MarkComplete("live/init.mp4")
	g.MarkComplete("live/s1.m4s")
	if got := g.Ready(refs); !slices.Equal(got, []string{"live/s2.m4s"}) {
		t.Fatalf("Ready = %q", got)
	}
	g.MarkComplete("live/s2.m4s")
	if got := g.Ready(refs); len(got) != 0 {
		t.Fatalf("Ready = %q, want none", got)
	}
	g.MarkRemoved("live/s1.m4s")
	if got := g.Ready(refs); !slices.Equal(got, []string{"live/s1.m4s"}) {
		t.Fatalf("after remove Ready = %q", got)
	}
}

func TestGateMasterNeedsPublishedVariants(t *testing.T) {
	var g Gate
	if miss := g.Ready([]string{"720p/index.m3u8"}); len(miss) != 1 {
		t.Fatal("variant should be missing")
	}
	g.Published("720p/index.m3u8", []string{"720p/s1.ts"})
	if miss := g.Ready([]string{"720p/index.m3u8"}); len(miss) != 0 {
		t.Fatalf("published variant still missing: %q", miss)
	}
}

func TestGateDeleteSafety(t *testing.T) {
	var g Gate
	if rel := g.Published("a.m3u8", []string{"s1.ts", "s2.ts"}); len(rel) != 0 {
		t.Fatalf("first publish released %q", rel)
	}
	g.Published("b.m3u8", []string{"s2.ts"}) // e.g. a DVR playlist sharing segments
	rel := g.Published("a.m3u8", []string{"s2.ts", "s3.ts"})
	if !slices.Equal(rel, []string{"s1.ts"}) {
		t.Fatalf("released = %q, want [s1.ts]", rel)
	}
	if g.Referenced("s1.ts") || !g.Referenced("s2.ts") || !g.Referenced("s3.ts") {
		t.Fatal("wrong referenced set after republish")
	}
	g.MarkRemoved("a.m3u8")
	if g.Referenced("s3.ts") || !g.Referenced("s2.ts") {
		t.Fatal("removing a playlist must release only its own refs")
	}
	g.MarkRemoved("b.m3u8")
	if g.Referenced("s2.ts") {
		t.Fatal("s2 still referenced after all playlists removed")
	}
	if g.IsComplete("a.m3u8") {
		t.Fatal("removed playlist still complete")
	}
}
