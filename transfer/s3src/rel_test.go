package s3src

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestRelPath(t *testing.T) {
	long := strings.Repeat("x", MaxNameLen)
	cases := []struct {
		prefix, key, rel string
		ok, bad          bool
	}{
		{"", "a", "a", true, false},
		{"p/", "p/a/b.ts", "a/b.ts", true, false},
		{"p/", "p/" + long, long, true, false},
		{"p/", "p/dir/", "", false, false}, // directory marker
		{"p/", "p/", "", false, false},
		{"p/", "p//a", "", false, true},
		{"p/", "p/a//b", "", false, true},
		{"p/", "p/a/./b", "", false, true},
		{"p/", "p/../etc/passwd", "", false, true},
		{"p/", "p/a/..", "", false, true},
		{"p/", "p/a\x00b", "", false, true},
		{"p/", "p/" + long + "x/f", "", false, true},
		{"p/", "q/a", "", false, true},
	}
	for _, c := range cases {
		rel, ok, err := RelPath(c.prefix, c.key)
		if rel != c.rel || ok != c.ok || (err != nil) != c.bad {
			t.Errorf("RelPath(%q, %q) = %q, %v, %v; want %q, %v, bad=%v", c.prefix, c.key, rel, ok, err, c.rel, c.ok, c.bad)
		}
		if c.bad && (!errors.Is(err, ErrBadKey) || !strings.Contains(err.Error(), fmt.Sprintf("%q", c.key))) {
			t.Errorf("RelPath(%q): error %v does not wrap ErrBadKey or name the key", c.key, err)
		}
	}
}

// FuzzRelPath checks that every accepted key maps to a clean relative path
// made of valid file names below the destination root.
func FuzzRelPath(f *testing.F) {
	for _, s := range []string{"p/a", "p/a/b", "p/../x", "p//x", "p/a\x00", "p/.", "p/", "p/a/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		rel, ok, err := RelPath("p/", key)
		if !ok {
			if rel != "" {
				t.Fatalf("RelPath(%q) rejected but returned %q", key, rel)
			}
			if err != nil && !errors.Is(err, ErrBadKey) {
				t.Fatalf("RelPath(%q) error %v does not wrap ErrBadKey", key, err)
			}
			return
		}
		if err != nil || "p/"+rel != key || strings.HasPrefix(rel, "/") || strings.IndexByte(rel, 0) >= 0 {
			t.Fatalf("RelPath(%q) = %q, %v", key, rel, err)
		}
		for c := range strings.SplitSeq(rel, "/") {
			if c == "" || c == "." || c == ".." || len(c) > MaxNameLen {
				t.Fatalf("RelPath(%q) = %q has component %q", key, rel, c)
			}
		}
	})
}
