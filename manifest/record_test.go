package manifest

import (
	"errors"
	"io/fs"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

func sampleRecord() Record {
	var h, h2 [32]byte
	for i := range h {
		h[i] = byte(i + 1)
		h2[i] = byte(255 - i)
	}
	mt := time.Date(2024, 3, 1, 12, 30, 45, 123456789, time.UTC)
	return Record{
		Size:    1 << 40,
		ModTime: mt,
		CTime:   mt.Add(time.Nanosecond),
		Inode:   1<<63 + 5,
		Dev:     0xfd01,
		Mode:    0o644,
		Hash:    h,
		Dests: Dests{
			{Name: "efs-a", Published: Published{Size: 1 << 40, ModTime: mt, Hash: h, At: mt.Add(time.Hour)}},
			{Name: "empty"},
			{Name: "s3", Published: Published{Size: 7, ModTime: mt.Add(-time.Second), Hash: h2, At: mt.Add(2 * time.Hour)}},
		},
	}
}

func TestRecordRoundTrip(t *testing.T) {
	cases := map[string]Record{
		"zero":   {},
		"sample": sampleRecord(),
		"symlink": {
			Mode: fs.ModeSymlink | 0o777, LinkTarget: "../t\xff\nrget",
			ModTime: time.Unix(-1, 5).UTC(),
		},
		"dir":      {Mode: fs.ModeDir | 0o755, Size: -1},
		"longname": {LinkTarget: strings.Repeat("\xfe", 4096), Dests: Dests{{Name: strings.Repeat("d", 300), Published: Published{Size: -5}}}},
		"extreme_time": {
			ModTime: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
			CTime:   time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		},
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			b := MarshalRecord(r)
			got, err := UnmarshalRecord(b)
			if err != nil {
				t.Fatalf("UnmarshalRecord: %v", err)
			}
			if !recordsEqual(got, r) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
			}
			if string(MarshalRecord(got)) != string(b) {
				t.Fatal("encoding is not deterministic")
			}
		})
	}
}

// recordsEqual compares times with Equal (locations differ) and treats nil
// and empty Dests alike.
func recordsEqual(a, b Record) bool {
	if !a.ModTime.Equal(b.ModTime) || !a.CTime.Equal(b.CTime) || len(a.Dests) != len(b.Dests) {
		return false
	}
	for _, da := range a.Dests {
		pa := da.Published
		pb, ok := b.Dests.Get(da.Name)
		if !ok || pa.Size != pb.Size || pa.Hash != pb.Hash || !pa.ModTime.Equal(pb.ModTime) || !pa.At.Equal(pb.At) {
			return false
		}
	}
	a.ModTime, a.CTime, a.Dests = time.Time{}, time.Time{}, nil
	b.ModTime, b.CTime, b.Dests = time.Time{}, time.Time{}, nil
	return reflect.DeepEqual(a, b)
}

func TestRecordZeroTimeDecodesAsZero(t *testing.T) {
	got, err := UnmarshalRecord(MarshalRecord(Record{}))
	if err != nil {
		t.Fatal(err)
	}
	if !got.ModTime.IsZero() || got.ModTime != (time.Time{}) {
		t.Fatalf("zero ModTime decoded as %v", got.ModTime)
	}
}

func TestUnmarshalTruncated(t *testing.T) {
	b := MarshalRecord(sampleRecord())
	for i := range len(b) {
		_, err := UnmarshalRecord(b[:i])
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated at %d/%d: err = %v, want ErrCorrupt", i, len(b), err)
		}
	}
	if _, err := UnmarshalRecord(append(b, 0)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("trailing byte: err = %v, want ErrCorrupt", err)
	}
}

func TestUnmarshalNewerVersion(t *testing.T) {
	b := MarshalRecord(sampleRecord())
	b[0] = recordVersion + 1
	_, err := UnmarshalRecord(b)
	if !errors.Is(err, ErrNewerVersion) {
		t.Fatalf("err = %v, want ErrNewerVersion", err)
	}
	if _, err := UnmarshalRecord([]byte{0}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("version 0: err = %v, want ErrCorrupt", err)
	}
}

func TestUnmarshalBogusLengths(t *testing.T) {
	// version, flags=link target, size, 2 times, inode, dev, mode, then a
	// link-target length of 2^62 with nothing behind it.
	b := []byte{recordVersion, flagLinkTarget, 0, 0, 0, 0, 0, 0, 0, 0}
	b = append(b, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40)
	if _, err := UnmarshalRecord(b); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("huge string: err = %v", err)
	}
	// A huge destination count.
	b = []byte{recordVersion, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	b = append(b, 0xff, 0xff, 0xff, 0xff, 0x0f)
	if _, err := UnmarshalRecord(b); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("huge dest count: err = %v", err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _ = UnmarshalRecord(b)
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
		t.Fatalf("bogus count allocated %d bytes", n)
	}
}

func FuzzUnmarshalRecord(f *testing.F) {
	f.Add(MarshalRecord(Record{}))
	f.Add(MarshalRecord(sampleRecord()))
	f.Add(MarshalRecord(Record{Mode: fs.ModeSymlink, LinkTarget: "x"}))
	f.Add([]byte{})
	f.Add([]byte{recordVersion, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := UnmarshalRecord(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNewerVersion) {
				t.Fatalf("error wraps neither ErrCorrupt nor ErrNewerVersion: %v", err)
			}
			return
		}
		enc := MarshalRecord(r)
		r2, err := UnmarshalRecord(enc)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("re-decode differs:\n%+v\n%+v", r, r2)
		}
		if string(MarshalRecord(r2)) != string(enc) {
			t.Fatal("encoding not stable")
		}
	})
}

func BenchmarkMarshalRecord(b *testing.B) {
	r := sampleRecord()
	b.ReportAllocs()
	for b.Loop() {
		_ = MarshalRecord(r)
	}
}

func BenchmarkUnmarshalRecord(b *testing.B) {
	enc := MarshalRecord(sampleRecord())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := UnmarshalRecord(enc); err != nil {
			b.Fatal(err)
		}
	}
}
