package fsdest

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzAbs checks the relative-path mapping: whatever the agent hands in,
// an accepted path stays below the destination root.
func FuzzAbs(f *testing.F) {
	for _, s := range []string{"a", "a/b", "", ".", "..", "../x", "a/../../x", "/etc/passwd", "a//b", "\xff\x00"} {
		f.Add(s)
	}
	d := &Dest{root: "/mnt/efs/root"}
	f.Fuzz(func(t *testing.T, rel string) {
		p, err := d.abs(rel)
		if err != nil {
			return
		}
		if p != d.root && !strings.HasPrefix(p, d.root+string(filepath.Separator)) {
			t.Fatalf("abs(%q) = %q escapes %s", rel, p, d.root)
		}
	})
}
