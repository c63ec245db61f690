package policy

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/efssync/efssync/agent/walk"
	"github.com/efssync/efssync/manifest"
)

func TestSourceUnchangedComparesEveryField(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	base := FileIdentity(walk.Stat{Size: 10, Mtime: t0, Ctime: t0, Ino: 7, Dev: 3}, 0o644)
	for _, c := range []struct {
		name string
		edit func(*Identity)
		want bool
	}{
		{"same", func(*Identity) {}, true},
		{"size", func(i *Identity) { i.Size++ }, false},
		{"mtime", func(i *Identity) { i.Mtime = t0.Add(time.Nanosecond) }, false},
		{"ctime (chmod, chown, rename over)", func(i *Identity) { i.Ctime = t0.Add(time.Second) }, false},
		{"inode", func(i *Identity) { i.Ino++ }, false},
		{"device", func(i *Identity) { i.Dev++ }, false},
		{"device unknown (manifest)", func(i *Identity) { i.Dev = 0 }, true},
		{"mode", func(i *Identity) { i.Mode = 0o600 }, false},
		{"type", func(i *Identity) { i.Mode = fs.ModeSymlink | 0o644 }, false},
	} {
		now := base
		c.edit(&now)
		if got := SourceUnchanged(base, now); got != c.want {
			t.Errorf("%s: SourceUnchanged = %v, want %v", c.name, got, c.want)
		}
	}
	obj := ObjectIdentity(10, `"e1"`, t0)
	rec := RecordIdentity(manifest.Record{Size: 10, ETag: `"e1"`, ModTime: t0, Mode: 0o644})
	if !SourceUnchanged(rec, obj) {
		t.Error("an object equal in size, ETag and LastModified is unchanged, whatever mode its record keeps")
	}
	for name, o := range map[string]Identity{
		"etag": ObjectIdentity(10, `"e2"`, t0), "size": ObjectIdentity(11, `"e1"`, t0),
		"last modified": ObjectIdentity(10, `"e1"`, t0.Add(time.Second)),
	} {
		if SourceUnchanged(rec, o) {
			t.Errorf("object with another %s: unchanged", name)
		}
	}
}

func TestNeedsTransferPerDestination(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	rec := manifest.Record{Size: 5, ModTime: t0, Hash: [32]byte{1}}
	rec.Dests.Set("held", manifest.Published{Size: 5, ModTime: t0, Hash: [32]byte{1}})
	rec.Dests.Set("older", manifest.Published{Size: 5, ModTime: t0.Add(-time.Hour), Hash: [32]byte{1}})
	rec.Dests.Set("other", manifest.Published{Size: 5, ModTime: t0, Hash: [32]byte{2}})
	rec.Dests.Set("short", manifest.Published{Size: 4, ModTime: t0, Hash: [32]byte{1}})
	for dest, want := range map[string]bool{"held": false, "older": true, "other": true, "short": true, "new": true} {
		if got := NeedsTransfer(true, rec, dest); got != want {
			t.Errorf("%s: NeedsTransfer = %v, want %v", dest, got, want)
		}
	}
	if !NeedsTransfer(false, rec, "held") {
		t.Error("a changed source is needed everywhere")
	}
}

func TestDeleteAllowed(t *testing.T) {
	tenth := func(n int) int { return n / 10 }
	for _, c := range []struct {
		name string
		c    DeleteCheck
		want string // "" allowed, else a part of the refusal
	}{
		{"empty source", DeleteCheck{Source: "/src", SourceEmpty: true}, "/src is empty (is it mounted?)"},
		{"empty listing", DeleteCheck{Source: "s3://b/p", SourceEmpty: true, Listing: true}, "lists no object"},
		{"within max_delete", DeleteCheck{Dest: "d", Gone: 10, Owned: 100, Limit: tenth, Rule: "10%"}, ""},
		{"over max_delete", DeleteCheck{Dest: "d", Gone: 11, Owned: 100, Limit: tenth, Rule: "10%"}, "11 of 100 entries at d"},
		{"shard within, all over", DeleteCheck{Dest: "d", Gone: 1, Owned: 50, Shard: "0/2", Shards: 2, AllGone: 11, Total: 100, Limit: tenth, Rule: "10%"}, "by all 2 shards together"},
		{"shard over", DeleteCheck{Dest: "d", Gone: 6, Owned: 50, Shard: "0/2", Shards: 2, AllGone: 6, Total: 100, Limit: tenth, Rule: "10%"}, "entries of shard 0/2"},
		{"no limit", DeleteCheck{Dest: "d", Gone: 100, Owned: 100}, ""},
	} {
		err := DeleteAllowed(c.c)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.want != "" && (!errors.Is(err, ErrDeleteRefused) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want a refusal saying %q", c.name, err, c.want)
		}
	}
}

func TestReleaseSourceNeedsEveryJobDestination(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	rec := manifest.Record{Size: 5, ModTime: t0, Hash: [32]byte{1}}
	rec.Dests.Set("efs", manifest.Published{Size: 5, ModTime: t0, Hash: [32]byte{1}})
	if err := ReleaseSource("f", []string{"efs"}, rec); err != nil {
		t.Errorf("published everywhere: %v", err)
	}
	if err := ReleaseSource("f", []string{"efs", "s3"}, rec); err == nil || !strings.Contains(err.Error(), "s3") {
		t.Errorf("a destination that never got the file (unusable this run): %v, want a refusal naming it", err)
	}
	rec.Dests.Set("s3", manifest.Published{Size: 5, ModTime: t0, Hash: [32]byte{9}})
	if err := ReleaseSource("f", []string{"efs", "s3"}, rec); err == nil {
		t.Error("a destination holding another version: released")
	}
}

func TestKeepAncestors(t *testing.T) {
	gone := []string{"a/b/c", "a/b", "a", "ab", "x/y", "x"}
	got := KeepAncestors(gone, []string{"a/b/keep.bin", "x/y/z/keep"})
	if want := []string{"a/b/c", "ab"}; !slices.Equal(got, want) {
		t.Errorf("KeepAncestors = %v, want %v", got, want)
	}
	if got := KeepAncestors(gone, nil); !slices.Equal(got, gone) {
		t.Errorf("nothing kept: %v", got)
	}
}
