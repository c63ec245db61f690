package s3client

import (
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/efssync/efssync/transfer"
)

// TestMetaRoundTrip: what EncodeMeta writes, DecodeMeta gives back,
// the owner included; tags leave the owner out (it is in the metadata
// from the start, and S3 allows 10 tags); an object without an owner
// decodes to none.
func TestMetaRoundTrip(t *testing.T) {
	in := transfer.Meta{Mode: fs.ModeSetuid | 0o750, ModTime: time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC),
		Hash: []byte{1, 2, 3}, UID: 1234, GID: 0}
	out := transfer.Meta{UID: -1, GID: -1}
	if err := DecodeMeta(EncodeMeta(in, true), &out); err != nil {
		t.Fatal(err)
	}
	if out.Mode != in.Mode || !out.ModTime.Equal(in.ModTime) || string(out.Hash) != string(in.Hash) || out.UID != 1234 || out.GID != 0 {
		t.Fatalf("round trip: %+v, want %+v", out, in)
	}
	tags := EncodeTags(in)
	if _, ok := tags[MetaUID]; ok || len(tags) != 3 {
		t.Fatalf("tags %v: want blake3, mtime and mode only", tags)
	}
	none := transfer.Meta{UID: -1, GID: -1}
	in.UID, in.GID = -1, -1
	if err := DecodeMeta(EncodeMeta(in, false), &none); err != nil || none.UID != -1 || none.GID != -1 {
		t.Fatalf("no owner stored: %+v, %v", none, err)
	}
}

// TestMetaTypes: symlinks and directories keep their type through the
// metadata, a regular file stores none, and an unknown type is an error
// naming the entry.
func TestMetaTypes(t *testing.T) {
	mtime := time.Date(1960, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, mode := range []fs.FileMode{fs.ModeSymlink | 0o777, fs.ModeDir | fs.ModeSetgid | 0o750, 0o640} {
		vals := EncodeMeta(transfer.Meta{Mode: mode, ModTime: mtime, UID: 1, GID: 2}, false)
		if _, has := vals[MetaType]; has != (mode.Type() != 0) {
			t.Errorf("%v: entries %v", mode, vals)
		}
		got := transfer.Meta{Mode: 0o644, UID: -1, GID: -1}
		if err := DecodeMeta(vals, &got); err != nil || got.Mode != mode || !got.ModTime.Equal(mtime) {
			t.Errorf("%v: decoded %+v, %v", mode, got, err)
		}
	}
	m := transfer.Meta{UID: -1, GID: -1}
	if err := DecodeMeta(map[string]string{MetaType: "fifo"}, &m); err == nil || !strings.Contains(err.Error(), MetaType) {
		t.Errorf("unknown type: %v", err)
	}
}

// TestDecodeMetaRefusesBadOwner: an owner that is not two numeric IDs is
// an error naming the entries, never a chown to a wrong ID.
func TestDecodeMetaRefusesBadOwner(t *testing.T) {
	for _, vals := range []map[string]string{
		{MetaUID: "1000"},
		{MetaGID: "1000"},
		{MetaUID: "-1", MetaGID: "5"},
		{MetaUID: "root", MetaGID: "0"},
		{MetaUID: "99999999999", MetaGID: "0"},
	} {
		m := transfer.Meta{UID: -1, GID: -1}
		err := DecodeMeta(vals, &m)
		if err == nil || !strings.Contains(err.Error(), MetaUID) || m.UID != -1 {
			t.Errorf("%v: %+v, %v", vals, m, err)
		}
	}
}

// FuzzDecodeMeta: no entry makes DecodeMeta panic, and what it accepts
// encodes back to entries it accepts again with the same result.
func FuzzDecodeMeta(f *testing.F) {
	f.Add("2024-05-06T07:08:09Z", "644", "0a0b", "1000", "1000", "")
	f.Add("", "", "", "", "", "symlink")
	f.Add("x", "999", "zz", "-1", "2", "dir")
	f.Add("3000-01-01T00:00:00.000000001Z", "2755", "", "0", "0", "fifo")
	f.Fuzz(func(t *testing.T, mtime, mode, hash, uid, gid, typ string) {
		vals := map[string]string{MetaMtime: mtime, MetaMode: mode, MetaHash: hash, MetaUID: uid, MetaGID: gid, MetaType: typ}
		m := transfer.Meta{UID: -1, GID: -1}
		if err := DecodeMeta(vals, &m); err != nil {
			return
		}
		again := transfer.Meta{UID: -1, GID: -1}
		if err := DecodeMeta(EncodeMeta(m, true), &again); err != nil {
			t.Fatalf("%v decoded to %+v, which does not decode again: %v", vals, m, err)
		}
		if again.UID != m.UID || again.GID != m.GID || again.Mode != m.Mode || string(again.Hash) != string(m.Hash) {
			t.Fatalf("%+v encoded and decoded to %+v", m, again)
		}
	})
}

// TestReadTargetRefuses: a symlink body no file system would take as a
// target is an error naming the key.
func TestReadTargetRefuses(t *testing.T) {
	for _, body := range []string{"", "a\x00b", strings.Repeat("x", MaxTarget+1)} {
		if _, err := ReadTarget("k/link", strings.NewReader(body)); err == nil || !strings.Contains(err.Error(), "k/link") {
			t.Errorf("%d bytes: %v", len(body), err)
		}
	}
	if got, err := ReadTarget("k", strings.NewReader(strings.Repeat("y", MaxTarget))); err != nil || len(got) != MaxTarget {
		t.Errorf("longest target: %d bytes, %v", len(got), err)
	}
}
