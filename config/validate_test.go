package config

import (
	"regexp"
	"strings"
	"testing"
)

// TestNameRules pins the hand-written character rules to the regexps they
// replaced.
func TestNameRules(t *testing.T) {
	safe := regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	bucket := regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	class := regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	inputs := []string{"", "a", "ab", "abc", "a.b", "-ab", "ab-", ".ab", "ab.", "a_b", "A", "AB_1", "1AB", "Ab",
		"my-bucket.logs", strings.Repeat("a", 63), strings.Repeat("a", 64), "a b", "a/b", "é", "STANDARD_IA", "GLACIER_IR"}
	for _, s := range inputs {
		if got, want := allIn(s, isSafeNameByte), safe.MatchString(s); got != want {
			t.Errorf("safe name %q: %v, want %v", s, got, want)
		}
		if got, want := validBucket(s), bucket.MatchString(s); got != want {
			t.Errorf("bucket %q: %v, want %v", s, got, want)
		}
		if got, want := validStorageClass(s), class.MatchString(s); got != want {
			t.Errorf("storage class %q: %v, want %v", s, got, want)
		}
	}
}
