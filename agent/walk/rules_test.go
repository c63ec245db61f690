package walk

import "testing"

// Rules come before the include and exclude lists, the first match wins,
// and only directory rules ("x/**", "x/") prune directories.
func TestFilterRules(t *testing.T) {
	f, err := NewFilter(nil, []string{"*.log"},
		Rule{Include: true, Pattern: "keep.log"},
		Rule{Include: false, Pattern: "/tmp/**"},
		Rule{Include: false, Pattern: "cache/"},
		Rule{Include: true, Pattern: "*.jpg"},
		Rule{Include: true, Pattern: "docs/*.md"},
		Rule{Include: false, Pattern: "*"},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		rel      string
		isDir    bool
		excluded bool
	}{
		{"keep.log", false, false},   // rule 1 before the exclude list
		{"a/keep.log", false, false}, // a name matches at any depth
		{"other.log", false, true},   // rule "- *"
		{"tmp", true, true},          // anchored directory rule
		{"a/tmp", true, false},       // ... only at the root
		{"a/cache", true, true},      // "cache/" is a directory rule at any depth
		{"x/y.jpg", false, false},
		{"photos", true, false}, // "- *" does not prune directories
		{"docs/a.md", false, false},
		{"z/docs/a.md", false, false}, // unanchored: at any depth
		{"docs/a.txt", false, true},
	} {
		if got := f.Excluded(c.rel, c.isDir); got != c.excluded {
			t.Errorf("Excluded(%q, dir=%v) = %v, want %v", c.rel, c.isDir, got, c.excluded)
		}
	}
	if _, err := NewFilter(nil, nil, Rule{Pattern: "[unclosed"}); err == nil {
		t.Error("an invalid rule pattern was accepted")
	}
}
