package s3dest

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPartSizeRaisedBeyondTenThousandParts(t *testing.T) {
	const mib = 1 << 20
	cases := []struct{ configured, size, want int64 }{
		{16 * mib, 0, 16 * mib},
		{16 * mib, 16 * mib * maxParts, 16 * mib},
		{16 * mib, 16*mib*maxParts + 1, 17 * mib},
		{5 * mib, 1 << 40, 105 * mib}, // 1 TiB needs 104.9 MiB parts
		{16 * mib, 5 << 40, 525 * mib},
	}
	for _, c := range cases {
		got := partSizeFor(c.configured, 4, c.size)
		if got != c.want {
			t.Errorf("partSizeFor(%d, %d) = %d, want %d", c.configured, c.size, got, c.want)
		}
		if c.size > 0 && got < MaxPartSize && (c.size+got-1)/got > maxParts {
			t.Errorf("partSizeFor(%d, %d) = %d needs more than %d parts", c.configured, c.size, got, maxParts)
		}
	}
}

// FuzzKey checks the path-to-key mapping: no panic, and every key it
// accepts is valid UTF-8, at most 1024 bytes, and starts with the prefix.
func FuzzKey(f *testing.F) {
	for _, s := range []string{"a", "dir/file.ts", "", "../x", "a//b", "\xff", "ü/ä"} {
		f.Add("live", s)
	}
	f.Fuzz(func(t *testing.T, prefix, rel string) {
		d := &Dest{bucket: "b", prefix: strings.Trim(prefix, "/")}
		key, err := d.Key(rel)
		if err != nil {
			return
		}
		if !utf8.ValidString(key) || len(key) > 1024 {
			t.Fatalf("Key(%q) = %q accepted", rel, key)
		}
		for _, seg := range strings.Split(strings.TrimPrefix(key, d.prefix+"/"), "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("Key(%q) = %q has a %q segment", rel, key, seg)
			}
		}
		if d.prefix != "" && !strings.HasPrefix(key, d.prefix+"/") {
			t.Fatalf("Key(%q) = %q lost the prefix %q", rel, key, d.prefix)
		}
	})
}

// TestPartPlan: a file of a few parts is cut finer, with more parts in
// flight, and the bytes in flight never exceed part_size × part_concurrency;
// files of unknown size, files of one PutObject and huge files keep the
// configured cut.
func TestPartPlan(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		configured, size int64
		conc             int
		part             int64
		inFlight         int
	}{
		{16 * mib, -1, 4, 16 * mib, 4},         // still growing
		{16 * mib, 16*mib - 1, 4, 16 * mib, 4}, // one PutObject
		{16 * mib, 64 * mib, 4, 8 * mib, 8},    // 8 parts, all in flight
		{16 * mib, 16 * mib, 4, 5 * mib, 12},   // S3's 5 MiB minimum
		{16 * mib, 100 * mib, 4, 13 * mib, 4},  // 12.5 MiB rounds up to a MiB
		{16 * mib, 1 << 30, 4, 16 * mib, 4},    // many parts already
		{16 * mib, 200 << 30, 4, 21 * mib, 4},  // beyond 10,000 parts
		{64 * mib, 64 * mib, 2, 16 * mib, 8},   // two slots of 64 MiB
		{5 * mib, 5 * mib, 1, 5 * mib, 1},      // nothing to split
		{16 * mib, 64*mib + 1, 8, 5 * mib, 25}, // 4.0 MiB wanted, 5 MiB is the floor
	} {
		part, n := partPlan(c.configured, c.conc, c.size)
		if part != c.part || n != c.inFlight {
			t.Errorf("partPlan(%d MiB, %d, %d): %d bytes × %d, want %d × %d", c.configured/mib, c.conc, c.size, part, n, c.part, c.inFlight)
		}
		if part <= c.configured && part*int64(n) > c.configured*int64(c.conc) {
			t.Errorf("partPlan(%d MiB, %d, %d): %d bytes in flight, more than %d", c.configured/mib, c.conc, c.size, part*int64(n), c.configured*int64(c.conc))
		}
	}
}
