package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeUnits maps a lower-cased unit suffix to its multiplier. Units are
// matched case-insensitively because operators write "mb", "MB" and "Mb"
// meaning the same thing; the IEC forms (KiB...) and the bare letters
// (k, M, G...) are powers of 1024, the SI forms (kB, MB...) powers of 1000.
var sizeUnits = map[string]int64{
	"":    1,
	"b":   1,
	"k":   1 << 10,
	"kib": 1 << 10,
	"kb":  1000,
	"m":   1 << 20,
	"mib": 1 << 20,
	"mb":  1000 * 1000,
	"g":   1 << 30,
	"gib": 1 << 30,
	"gb":  1000 * 1000 * 1000,
	"t":   1 << 40,
	"tib": 1 << 40,
	"tb":  1000 * 1000 * 1000 * 1000,
	"p":   1 << 50,
	"pib": 1 << 50,
	"pb":  1000 * 1000 * 1000 * 1000 * 1000,
}

// ParseSize reads a byte count the way people write it in config files:
// a whole number optionally followed by a unit, e.g. "1048576", "500k",
// "8MiB", "8MB", "1GiB", "8 MiB". KiB/MiB/GiB/TiB/PiB and the bare letters
// k/K/M/G/T/P are powers of 1024; kB/MB/GB/TB/PB are powers of 1000.
// Negative values and values that overflow int64 are errors.
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "-") {
		return 0, fmt.Errorf("invalid size %q: must not be negative", s)
	}
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("invalid size %q: want a whole number of bytes with an optional unit such as KiB, MiB, GiB, kB, MB or GB", s)
	}
	if i < len(t) && t[i] == '.' {
		return 0, fmt.Errorf("invalid size %q: fractions are not supported, use a smaller unit (1536MiB, not 1.5GiB)", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: number too large", s)
	}
	unit := strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := sizeUnits[unit]
	if !ok {
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (use B, KiB, MiB, GiB, TiB, kB, MB, GB, TB, or k, M, G, T)", s, strings.TrimSpace(t[i:]))
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return Size(n * mult), nil
}

// sizeNames are the units String prefers, largest first: IEC before SI
// because buffer and part sizes are almost always powers of two.
var sizeNames = []struct {
	name string
	mult int64
}{
	{"PiB", 1 << 50}, {"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"PB", 1e15}, {"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"kB", 1e3},
}

// String prints the size in the largest unit that represents it exactly
// ("8MiB", "5MB", "1234"), so a printed config reads the way it was written
// and parses back to the same value.
func (s Size) String() string {
	if s <= 0 {
		return strconv.FormatInt(int64(s), 10)
	}
	for _, u := range sizeNames {
		if int64(s)%u.mult == 0 {
			return strconv.FormatInt(int64(s)/u.mult, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// Bytes returns the size as a plain int64, for callers sizing buffers.
func (s Size) Bytes() int64 { return int64(s) }

// UnmarshalText lets Size be decoded from any text format (and from the
// mapstructure hook Load installs) using ParseSize's syntax.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MarshalText prints the size the way String does, so an encoded Config
// (YAML, JSON) can be loaded again.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
