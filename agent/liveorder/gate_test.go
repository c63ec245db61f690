package liveorder

import (
	"slices"
	"testing"
)

func whole(paths ...string) []Ref {
	out := make([]Ref, len(paths))
	for i, p := range paths {
		out[i] = Ref{Path: p}
	}
	return out
}

func TestGateOrdering(t *testing.T) {
	var g Gate
	refs := whole("live/init.mp4", "live/s1.m4s", "live/s2.m4s")
	if got := g.Missing(refs); !slices.Equal(got, refs) {
		t.Fatalf("Missing on empty gate = %v", got)
	}
	g.MarkComplete("live/init.mp4")
	g.MarkComplete("live/s1.m4s")
	if got := g.Missing(refs); !slices.Equal(got, whole("live/s2.m4s")) {
		t.Fatalf("Missing = %v", got)
	}
	g.MarkComplete("live/s2.m4s")
	if got := g.Missing(refs); len(got) != 0 {
		t.Fatalf("Missing = %v, want none", got)
	}
	g.MarkRemoved("live/s1.m4s")
	if got := g.Missing(refs); !slices.Equal(got, whole("live/s1.m4s")) {
		t.Fatalf("after remove Missing = %v", got)
	}
}

// A byte range of a file written in place is there once the file's
// leading bytes reach its end; a whole-file reference needs the file whole.
func TestGateByteRanges(t *testing.T) {
	var g Gate
	ranged := []Ref{{Path: "live.m4s", End: 1000}}
	g.MarkLength("live.m4s", 999)
	if got := g.Missing(ranged); len(got) != 1 {
		t.Fatalf("999 of 1000 bytes: Missing = %v", got)
	}
	g.MarkLength("live.m4s", 1000)
	if got := g.Missing(ranged); len(got) != 0 {
		t.Fatalf("1000 bytes: Missing = %v", got)
	}
	if got := g.Missing(whole("live.m4s")); len(got) != 1 {
		t.Fatal("a growing file counted as whole")
	}
	g.MarkComplete("live.m4s")
	g.MarkLength("live.m4s", 0) // started over: truncated in place
	if got := g.Missing(ranged); len(got) != 1 || g.IsComplete("live.m4s") {
		t.Fatalf("after restart Missing = %v, complete = %v", got, g.IsComplete("live.m4s"))
	}
}

func TestGateMasterNeedsPublishedVariants(t *testing.T) {
	var g Gate
	if miss := g.Missing(whole("720p/index.m3u8")); len(miss) != 1 {
		t.Fatal("variant should be missing")
	}
	g.Published("720p/index.m3u8", whole("720p/s1.ts"))
	if miss := g.Missing(whole("720p/index.m3u8")); len(miss) != 0 {
		t.Fatalf("published variant still missing: %v", miss)
	}
}

func TestGateDeleteSafety(t *testing.T) {
	var g Gate
	if rel := g.Published("a.mpd", whole("s1.m4s", "s2.m4s")); len(rel) != 0 {
		t.Fatalf("first publish released %q", rel)
	}
	g.Published("b.m3u8", whole("s2.m4s")) // HLS and DASH of one encoder share segments
	rel := g.Published("a.mpd", whole("s2.m4s", "s3.m4s"))
	if !slices.Equal(rel, []string{"s1.m4s"}) {
		t.Fatalf("released = %q, want [s1.m4s]", rel)
	}
	if g.Referenced("s1.m4s") || !g.Referenced("s2.m4s") || !g.Referenced("s3.m4s") {
		t.Fatal("wrong referenced set after republish")
	}
	g.MarkRemoved("a.mpd")
	if g.Referenced("s3.m4s") || !g.Referenced("s2.m4s") {
		t.Fatal("removing a manifest must release only its own refs")
	}
	g.MarkRemoved("b.m3u8")
	if g.Referenced("s2.m4s") {
		t.Fatal("s2 still referenced after all manifests removed")
	}
	if g.IsComplete("a.mpd") {
		t.Fatal("removed manifest still complete")
	}
}

func TestCollect(t *testing.T) {
	got := Collect("a/b/m.mpd", []Ref{
		{Path: "s.m4s", End: 10}, {Path: "./s.m4s", End: 30}, {Path: "s.m4s", End: 20},
		{Path: "w.m4s", End: 5}, {Path: "w.m4s"},
		{Path: "../../../x"}, {Path: "http://h/x"}, {Path: "/x"}, {Path: "q.m4s?x=1#f"}, {Path: "sp%20ace.m4s"},
	})
	want := []Ref{{Path: "a/b/s.m4s", End: 30}, {Path: "a/b/w.m4s"}, {Path: "a/b/q.m4s"}, {Path: "a/b/sp ace.m4s"}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}
