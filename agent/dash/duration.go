package dash

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// optDuration parses an xs:duration attribute ("PT1.5S", "PT5M",
// "P1DT2H"); "" is zero. what names the attribute in the error.
func optDuration(what, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := parseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("dash: bad %s %q: %w", what, s, err)
	}
	return d, nil
}

func parseDuration(s string) (time.Duration, error) {
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" {
		return 0, fmt.Errorf("not an xs:duration (PnDTnHnMnS)")
	}
	var secs float64
	inTime := false
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return 0, fmt.Errorf("second T")
			}
			inTime = true
			rest = rest[1:]
			continue
		}
		i := strings.IndexAny(rest, "YMWDHS")
		if i <= 0 {
			return 0, fmt.Errorf("number without unit")
		}
		v, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return 0, fmt.Errorf("bad number %q", rest[:i])
		}
		unit := rest[i]
		rest = rest[i+1:]
		switch {
		case unit == 'Y' && !inTime:
			secs += v * 365 * 86400
		case unit == 'M' && !inTime:
			secs += v * 30 * 86400
		case unit == 'W' && !inTime:
			secs += v * 7 * 86400
		case unit == 'D' && !inTime:
			secs += v * 86400
		case unit == 'H' && inTime:
			secs += v * 3600
		case unit == 'M' && inTime:
			secs += v * 60
		case unit == 'S' && inTime:
			secs += v
		default:
			return 0, fmt.Errorf("unit %c in the wrong part", unit)
		}
	}
	if secs*float64(time.Second) >= math.MaxInt64 {
		return 0, fmt.Errorf("too long")
	}
	return time.Duration(secs * float64(time.Second)), nil
}
