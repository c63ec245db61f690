package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads a duration as time.ParseDuration does ("2s", "10m",
// "1h30m") and also accepts a bare integer as a number of seconds ("30"),
// because that is what people write in TOML/JSON and environment variables.
func ParseDuration(s string) (Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("invalid duration %q: empty", s)
	}
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		return secondsDuration(n)
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: want e.g. 2s, 10m, 1h30m or a number of seconds", s)
	}
	return Duration(d), nil
}

// secondsDuration converts a whole number of seconds, refusing overflow.
func secondsDuration(n int64) (Duration, error) {
	if n > math.MaxInt64/int64(time.Second) || n < math.MinInt64/int64(time.Second) {
		return 0, fmt.Errorf("invalid duration: %d seconds is out of range", n)
	}
	return Duration(time.Duration(n) * time.Second), nil
}

// D returns the value as a time.Duration for use with timers and contexts.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String prints the duration compactly ("10m" rather than "10m0s") in a form
// ParseDuration accepts, so printed configs read naturally and round-trip.
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// UnmarshalText lets Duration be decoded from text using ParseDuration's syntax.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalText prints the duration as String does, so encoded configs reload.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
