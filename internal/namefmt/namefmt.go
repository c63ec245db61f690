// Package namefmt prints file names and texts that hold them so that two
// different names never print the same. A name that is not valid UTF-8
// would otherwise print with U+FFFD in place of its bad bytes, and two
// names differing only there would look alike in a log, an error or a
// summary. Every place that prints a name calls this package, so the rule
// is written once.
package namefmt

import (
	"log/slog"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Name returns name as it is when it prints unambiguously (valid UTF-8,
// printable, not starting with a double quote), and otherwise as a Go
// quoted string with its bad bytes as \xNN. strconv.Unquote gives back the
// exact bytes of a quoted name.
func Name(name string) string {
	if plain(name) && !strings.HasPrefix(name, `"`) {
		return name
	}
	return strconv.Quote(name)
}

// Text returns a message (an error's text, which may hold names) with every
// byte that is not valid UTF-8 written as \xNN, and a backslash written as
// \\, so the original bytes can be read back (Unescape). A valid, plain
// text is returned unchanged.
func Text(s string) string {
	if utf8.ValidString(s) && !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[i])>>4, 16))
			b.WriteString(strconv.FormatUint(uint64(s[i])&15, 16))
		case r == '\\':
			b.WriteString(`\\`)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// Unescape reverses Text.
func Unescape(s string) (string, bool) {
	if !strings.Contains(s, `\`) {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case i+1 < len(s) && s[i+1] == '\\':
			b.WriteByte('\\')
			i++
		case i+3 < len(s) && s[i+1] == 'x':
			v, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
			if err != nil {
				return "", false
			}
			b.WriteByte(byte(v))
			i += 3
		default:
			return "", false
		}
	}
	return b.String(), true
}

func plain(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// LogAttr is a slog.HandlerOptions.ReplaceAttr: it writes a string or error
// attribute that holds bytes which are not valid UTF-8 through Text, so a
// log tells two such names apart.
func LogAttr(_ []string, a slog.Attr) slog.Attr {
	switch v := a.Value.Any().(type) {
	case string:
		if !utf8.ValidString(v) {
			a.Value = slog.StringValue(Text(v))
		}
	case error:
		if msg := v.Error(); !utf8.ValidString(msg) {
			a.Value = slog.StringValue(Text(msg))
		}
	}
	return a
}
