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
		got := partSizeFor(c.configured, c.size)
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
