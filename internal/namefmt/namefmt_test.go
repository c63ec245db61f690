package namefmt

import (
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
)

func TestNameTellsApartWhatU_FFFDMerges(t *testing.T) {
	a, b := "caf\xe9", "caf\xe8"
	if Name(a) == Name(b) {
		t.Fatalf("%q and %q print alike: %s", a, b, Name(a))
	}
	for in, want := range map[string]string{
		"plain/name.txt": "plain/name.txt",
		"caf\xe9":        `"caf\xe9"`,
		"tab\there":      `"tab\there"`,
		`"quoted"`:       `"\"quoted\""`,
		"ünïcode":        "ünïcode",
	} {
		if got := Name(in); got != want {
			t.Errorf("Name(%q) = %s, want %s", in, got, want)
		}
	}
	if Text("open a\xff: EIO") != `open a\xff: EIO` || Text(`c:\x`) != `c:\\x` {
		t.Errorf("Text: %s, %s", Text("open a\xff: EIO"), Text(`c:\x`))
	}
}

// FuzzNames: both forms give back the exact bytes, and are valid UTF-8.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"", "a", "caf\xe9", `\x41`, `"`, "\\", "\xff\xfe", "ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Name(s)
		if n != s {
			back, err := strconv.Unquote(n)
			if err != nil || back != s {
				t.Fatalf("Name(%q) = %s does not unquote back (%q, %v)", s, n, back, err)
			}
		}
		back, ok := Unescape(Text(s))
		if !ok || back != s {
			t.Fatalf("Text(%q) = %s unescapes to %q, %v", s, Text(s), back, ok)
		}
	})
}

func TestLogAttrEscapesInvalidUTF8(t *testing.T) {
	var b strings.Builder
	log := slog.New(slog.NewJSONHandler(&b, &slog.HandlerOptions{ReplaceAttr: LogAttr}))
	log.Error("copy failed", "path", "caf\xe9", "error", errors.New("open caf\xe8: EIO"))
	if out := b.String(); !strings.Contains(out, `"path":"caf\\xe9"`) || !strings.Contains(out, `"error":"open caf\\xe8: EIO"`) {
		t.Errorf("log line: %s", out)
	}
}
