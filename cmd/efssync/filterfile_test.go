package main

import (
	"strings"
	"testing"

	"github.com/efssync/efssync/agent/walk"
)

// FuzzFilterLine: any line either parses to a rule the filter compiles, or
// is refused with an error naming the line; it never panics.
func FuzzFilterLine(f *testing.F) {
	for _, s := range []string{"+ *.jpg", "- /tmp/**", "!", "- cache/", "+  x", "* bad", "-", "+ [", "- /"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r, clear, err := parseFilterLine(line)
		if err != nil {
			if !strings.Contains(err.Error(), line) && !strings.Contains(err.Error(), "invalid") {
				t.Errorf("error %q does not name the line %q", err, line)
			}
			return
		}
		if clear {
			return
		}
		if _, err := walk.NewFilter(nil, nil, r); err != nil {
			t.Errorf("parsed %q to %+v, which the filter refuses: %v", line, r, err)
		}
	})
}
