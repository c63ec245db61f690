package walk

import (
	"encoding/binary"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// direntRecord builds one linux_dirent64 record as getdents64 returns it,
// padded to 8 bytes.
func direntRecord(name string, typ uint8) []byte {
	n := (direntNameOff + len(name) + 1 + 7) &^ 7
	b := make([]byte, n)
	binary.NativeEndian.PutUint64(b[0:8], 42)
	binary.NativeEndian.PutUint16(b[16:18], uint16(n))
	b[18] = typ
	copy(b[direntNameOff:], name)
	return b
}

func TestParseDirents(t *testing.T) {
	var raw []byte
	for _, r := range []struct {
		name string
		typ  uint8
	}{{".", unix.DT_DIR}, {"..", unix.DT_DIR}, {"b file", unix.DT_REG}, {"a\ndir", unix.DT_DIR}, {"\xff", unix.DT_UNKNOWN}, {"...", unix.DT_LNK}} {
		raw = append(raw, direntRecord(r.name, r.typ)...)
	}
	var sc dirScratch
	if err := sc.parse(raw); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range sc.ents {
		got = append(got, string(sc.names[d.off:d.off+d.len])+"/"+string(rune('0'+d.typ)))
	}
	want := []string{"b file/" + string(rune('0'+unix.DT_REG)), "a\ndir/" + string(rune('0'+unix.DT_DIR)),
		"\xff/" + string(rune('0'+unix.DT_UNKNOWN)), ".../" + string(rune('0'+unix.DT_LNK))}
	if !slices.Equal(got, want) {
		t.Errorf("parsed %q, want %q", got, want)
	}

	// A damaged buffer is an error, never a panic or a read past its end.
	bad := direntRecord("x", unix.DT_REG)
	binary.NativeEndian.PutUint16(bad[16:18], uint16(len(bad)+8))
	if err := sc.parse(bad); err == nil {
		t.Error("record length past the buffer: no error")
	}
	binary.NativeEndian.PutUint16(bad[16:18], 3)
	if err := sc.parse(bad); err == nil {
		t.Error("record length below the header: no error")
	}
	if err := sc.parse(bad[:10]); err == nil {
		t.Error("truncated header: no error")
	}
}
