package config

import (
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want Size
	}{
		{"0", 0},
		{"1048576", 1 << 20},
		{"500k", 500 << 10},
		{"500K", 500 << 10},
		{"8MiB", 8 << 20},
		{"8mib", 8 << 20},
		{"8 MiB", 8 << 20},
		{"8MB", 8_000_000},
		{"8M", 8 << 20},
		{"1GiB", 1 << 30},
		{"1G", 1 << 30},
		{"2GB", 2_000_000_000},
		{"1TiB", 1 << 40},
		{"3kB", 3000},
		{"7B", 7},
		{" 64KiB ", 64 << 10},
	}
	for _, c := range cases {
		got, err := ParseSize(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1", "1.5GiB", "8XB", "8 Mi B", "99999999999999999999", "9000000PiB", "0x10"} {
		if got, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) = %d, want error", bad, got)
		}
	}
}

func TestSizeString(t *testing.T) {
	cases := map[Size]string{
		0:             "0",
		1 << 20:       "1MiB",
		16 << 20:      "16MiB",
		5 << 30:       "5GiB",
		1536:          "1536",
		8_000_000:     "8MB",
		1000:          "1kB",
		1234:          "1234",
		3 << 10:       "3KiB",
		1<<20 + 1<<10: "1025KiB",
	}
	for s, want := range cases {
		if got := s.String(); got != want {
			t.Errorf("Size(%d).String() = %q, want %q", int64(s), got, want)
		}
		back, err := ParseSize(s.String())
		if err != nil || back != s {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", s.String(), back, err, int64(s))
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"8MiB", "500k", "1048576", "1GiB", "8MB", "", "-1", "9223372036854775807", "8 pb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseSize(s)
		if err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("ParseSize(%q) = %d, negative", s, v)
		}
		back, err := ParseSize(v.String())
		if err != nil || back != v {
			t.Fatalf("round trip of %q: String %q parsed to %d, %v", s, v.String(), back, err)
		}
	})
}

func TestParseDuration(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
	}{
		{"2s", 2 * time.Second},
		{"10m", 10 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"250ms", 250 * time.Millisecond},
		{"30", 30 * time.Second},
		{" 5 ", 5 * time.Second},
		{"0", 0},
	}
	for _, c := range cases {
		got, err := ParseDuration(c.in)
		if err != nil || got.D() != c.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "10 minutes", "5x", "99999999999999999"} {
		if got, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want error", bad, got)
		}
	}
}

func TestDurationString(t *testing.T) {
	cases := map[time.Duration]string{
		10 * time.Minute:        "10m",
		2 * time.Second:         "2s",
		time.Hour:               "1h",
		90 * time.Minute:        "1h30m",
		1500 * time.Millisecond: "1.5s",
		0:                       "0s",
	}
	for d, want := range cases {
		if got := Duration(d).String(); got != want {
			t.Errorf("Duration(%v).String() = %q, want %q", d, got, want)
		}
		back, err := ParseDuration(Duration(d).String())
		if err != nil || back.D() != d {
			t.Errorf("round trip of %v: got %v, %v", d, back, err)
		}
	}
}

func TestMaxDelete(t *testing.T) {
	cases := []struct {
		in           string
		count        int
		percent      float64
		total, limit int
	}{
		{"1000", 1000, 0, 5, 1000},
		{"10%", 0, 10, 100, 10},
		{"10%", 0, 10, 15, 1},
		{"10%", 0, 10, 5, 0},
		{"7%", 0, 7, 100, 7},
		{"2.5%", 0, 2.5, 1000, 25},
		{"100%", 0, 100, 42, 42},
		{" 1 ", 1, 0, 0, 1},
	}
	for _, c := range cases {
		n, p, err := ParseMaxDelete(c.in)
		if err != nil || n != c.count || p != c.percent {
			t.Errorf("ParseMaxDelete(%q) = %d, %v, %v; want %d, %v", c.in, n, p, err, c.count, c.percent)
			continue
		}
		m, _ := NewMaxDelete(c.in)
		if got := m.Limit(c.total); got != c.limit {
			t.Errorf("%q.Limit(%d) = %d, want %d", c.in, c.total, got, c.limit)
		}
	}
	for _, bad := range []string{"", "0", "-5", "0%", "101%", "ten", "10 %%", "NaN%", "1e3"} {
		if _, _, err := ParseMaxDelete(bad); err == nil {
			t.Errorf("ParseMaxDelete(%q): want error", bad)
		}
	}
}
