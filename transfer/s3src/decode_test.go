package s3src

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeKey(t *testing.T) {
	for enc, want := range map[string]string{
		"p/a%2Bb+c%2541": "p/a+b c%41",
		"p/bell%07":      "p/bell\x07",
		"p/plain.txt":    "p/plain.txt",
	} {
		if got, err := decodeKey(enc); err != nil || got != want {
			t.Errorf("decodeKey(%q) = %q, %v; want %q", enc, got, err, want)
		}
	}
	_, err := decodeKey("p/bad%zz")
	if !errors.Is(err, ErrBadKey) || !strings.Contains(err.Error(), `"p/bad%zz"`) {
		t.Fatalf("a key that does not decode: %v", err)
	}
}
