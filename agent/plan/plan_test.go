package plan

import (
	"io/fs"
	"slices"
	"testing"
	"time"

	"github.com/efssync/efssync/agent/walk"
	"github.com/efssync/efssync/manifest"
)

// The plan strategy decides from the stat and the record alone.
func TestStatStrategyPlan(t *testing.T) {
	mt := time.Unix(1000, 0)
	st := walk.Stat{Size: 10, Mtime: mt, Ctime: mt, Ino: 7}
	file := walk.Entry{Rel: "f", Mode: 0o644}
	pub := manifest.Published{Size: 10, ModTime: mt, Hash: [32]byte{1}}
	rec := manifest.Record{Size: 10, ModTime: mt, CTime: mt, Inode: 7, Mode: 0o644, Hash: [32]byte{1}}
	rec.Dests.Set("a", pub)
	rec.Dests.Set("b", pub)
	dests := []string{"a", "b"}
	s := StatStrategy{}
	for _, c := range []struct {
		name  string
		e     walk.Entry
		st    walk.Stat
		rec   manifest.Record
		known bool
		kind  Kind
		to    []int
	}{
		{"unchanged everywhere", file, st, rec, true, KindSkip, nil},
		{"new", file, st, manifest.Record{}, false, KindCopy, []int{0, 1}},
		{"grown", file, walk.Stat{Size: 11, Mtime: mt, Ctime: mt, Ino: 7}, rec, true, KindCopy, []int{0, 1}},
		{"same size, new inode", file, walk.Stat{Size: 10, Mtime: mt, Ctime: mt, Ino: 8}, rec, true, KindCopy, []int{0, 1}},
		{"a destination added", file, st, func() manifest.Record { r := rec; r.Dests = r.Dests.Clone(); r.Dests.Delete("b"); return r }(), true, KindCopy, []int{1}},
		{"directory", walk.Entry{Rel: "d", Mode: fs.ModeDir | 0o755}, st, manifest.Record{}, false, KindMkdir, []int{0, 1}},
		{"symlink", walk.Entry{Rel: "l", Mode: fs.ModeSymlink | 0o777}, st, manifest.Record{}, false, KindSymlink, []int{0, 1}},
		{"fifo", walk.Entry{Rel: "p", Mode: fs.ModeNamedPipe | 0o644}, st, manifest.Record{}, false, KindSkip, nil},
	} {
		a := s.Plan(c.e, c.st, c.rec, c.known, dests)
		if a.Kind != c.kind || !slices.Equal(a.Dests, c.to) {
			t.Errorf("%s: plan %v to %v, want %v to %v", c.name, a.Kind, a.Dests, c.kind, c.to)
		}
	}
	if a := (StatStrategy{Checksum: true}).Plan(file, st, rec, true, dests); a.Kind != KindRehash {
		t.Errorf("checksum mode on an unchanged file: %v, want rehash", a.Kind)
	}
}
