package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MaxDelete is a parsed max_delete rule: the most files a mirror delete may
// remove in one run, either a fixed count or a percentage of the files known
// at the destination. It exists so that an unmounted or emptied source,
// which looks exactly like "everything was deleted", cannot wipe a replica.
type MaxDelete struct {
	// Count is the absolute limit; used when Percent is 0.
	Count int
	// Percent is the limit as a percentage (0 < Percent <= 100) of the files
	// known at the destination.
	Percent float64
}

// ParseMaxDelete parses "N" (a positive count) or "N%" (0 < N <= 100,
// fractions allowed, e.g. "2.5%"). It returns the count and percentage
// separately; exactly one of them is non-zero on success.
func ParseMaxDelete(s string) (count int, percent float64, err error) {
	t := strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(t, "%"); ok {
		v, perr := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if perr != nil || math.IsNaN(v) || v <= 0 || v > 100 {
			return 0, 0, fmt.Errorf("invalid max_delete %q: a percentage must be greater than 0%% and at most 100%%", s)
		}
		return 0, v, nil
	}
	n, cerr := strconv.Atoi(t)
	if cerr != nil || n <= 0 {
		return 0, 0, fmt.Errorf("invalid max_delete %q: want a positive count like 1000 or a percentage like 10%%", s)
	}
	return n, 0, nil
}

// NewMaxDelete parses s as ParseMaxDelete does and returns the rule.
func NewMaxDelete(s string) (MaxDelete, error) {
	c, p, err := ParseMaxDelete(s)
	return MaxDelete{Count: c, Percent: p}, err
}

// Limit returns how many deletions are allowed when total files are known at
// the destination. A percentage is rounded down, erring on the side of keeping
// files: 10% of 15 files allows 1 deletion.
func (m MaxDelete) Limit(total int) int {
	if m.Percent > 0 {
		if total <= 0 {
			return 0
		}
		// The small epsilon keeps exact products such as 7% of 100 from
		// rounding down to 6 through floating-point error.
		return int(math.Floor(float64(total)*m.Percent/100 + 1e-9))
	}
	return m.Count
}

// String prints the rule in the syntax ParseMaxDelete reads.
func (m MaxDelete) String() string {
	if m.Percent > 0 {
		return strconv.FormatFloat(m.Percent, 'f', -1, 64) + "%"
	}
	return strconv.Itoa(m.Count)
}

// MaxDeleteRule parses the job's MaxDelete string; Load has already validated
// it, so the error only matters for Jobs built in code.
func (j Job) MaxDeleteRule() (MaxDelete, error) { return NewMaxDelete(j.MaxDelete) }
