package config

import (
	"strings"
	"testing"
	"time"
)

// at is a time in the week of Monday 2024-01-01.
func at(day time.Weekday, hh, mm int) time.Time {
	return time.Date(2024, 1, 1+(int(day)+6)%7, hh, mm, 30, 0, time.UTC)
}

func TestBwLimitRateAt(t *testing.T) {
	const k, m = 1 << 10, 1 << 20
	cases := []struct {
		text string
		when time.Time
		want int64
	}{
		{"10M", at(time.Wednesday, 3, 0), 10 * m},
		{"off", at(time.Wednesday, 3, 0), 0},
		{"08:00,512k 19:00,10M 23:00,off", at(time.Tuesday, 7, 59), 0}, // before the first entry: the last carries over
		{"08:00,512k 19:00,10M 23:00,off", at(time.Tuesday, 8, 0), 512 * k},
		{"08:00,512k 19:00,10M 23:00,off", at(time.Tuesday, 18, 59), 512 * k},
		{"08:00,512k 19:00,10M 23:00,off", at(time.Tuesday, 19, 0), 10 * m},
		{"08:00,512k 19:00,10M 23:00,off", at(time.Tuesday, 23, 30), 0},
		{"08:00,10M", at(time.Sunday, 1, 0), 10 * m},
		{"Mon-08:00,2M Sat-00:00,off", at(time.Sunday, 23, 59), 0},
		{"Mon-08:00,2M Sat-00:00,off", at(time.Monday, 7, 0), 0},
		{"Mon-08:00,2M Sat-00:00,off", at(time.Friday, 23, 0), 2 * m},
		{"mon-08:00,2M sat-00:00,off 12:00,1M", at(time.Sunday, 12, 0), 1 * m}, // a daily entry applies on every day
		{"mon-08:00,2M sat-00:00,off 12:00,1M", at(time.Monday, 9, 0), 2 * m},
		{"mon-08:00,2M sat-00:00,off 12:00,1M", at(time.Monday, 11, 59), 2 * m},
		{"Sun-12:00,1M", at(time.Saturday, 1, 0), 1 * m},
	}
	for _, c := range cases {
		b, err := ParseBwLimit(c.text)
		if err != nil {
			t.Fatalf("%q: %v", c.text, err)
		}
		if got := b.RateAt(c.when); got != c.want {
			t.Errorf("%q at %s: %d, want %d", c.text, c.when.Format("Mon 15:04"), got, c.want)
		}
		back, err := ParseBwLimit(b.String())
		if err != nil || back.String() != b.String() {
			t.Errorf("%q printed as %q does not read back: %v", c.text, b, err)
		}
	}
}

func TestBwLimitErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"fast", `invalid bwlimit "fast": invalid size "fast"`},
		{"10M:1M", `upload:download pairs`},
		{"25:00,1M", `entry "25:00,1M": time "25:00" is not HH:MM`},
		{"8:00,1M", `time "8:00" is not HH:MM`},
		{"08:00", `HH:MM,RATE`},
		{"08:00,1M 09:00", `entry "09:00": no ','`},
		{"Mun-08:00,1M", `unknown day "Mun"`},
		{"08:00,1.5M", `fractions are not supported`},
		{"08:00,1M 08:00,off", `"08:00,1M" and "08:00,off" start at the same time`},
		{"Mon-08:00,1M 08:00,off", `start at the same time`},
	} {
		_, err := ParseBwLimit(c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error saying %q", c.text, err, c.want)
		}
	}
}

func TestBwLimitKey(t *testing.T) {
	c := mustLoad(t, "c.yaml", badJob(`bwlimit: "08:00,512k 19:00,off"`, ""), testEnv)
	j := c.Jobs[0]
	if j.Bandwidth != 0 || j.BwLimit.String() != "08:00,512KiB 19:00,off" || j.BandwidthSchedule().RateAt(at(time.Monday, 9, 0)) != 512<<10 {
		t.Errorf("timetable: bandwidth %s bwlimit %q", j.Bandwidth, j.BwLimit)
	}
	// A plain rate is also the bandwidth the agent has always read.
	c = mustLoad(t, "c.toml", "[[jobs]]\nname = \"j\"\nsource = \"/src\"\nbwlimit = 1048576\n[[jobs.destinations]]\ntype = \"fs\"\npath = \"/dst\"\n", testEnv)
	if j := c.Jobs[0]; j.Bandwidth != 1<<20 || !j.BwLimit.Plain() {
		t.Errorf("plain: bandwidth %s bwlimit %q", j.Bandwidth, j.BwLimit)
	}
	if s := (Job{Bandwidth: 5 << 20}).BandwidthSchedule(); s.RateAt(time.Now()) != 5<<20 {
		t.Errorf("schedule of bandwidth alone: %q", s)
	}
	p := problemsOf(t, "c.yaml", badJob("bandwidth: 1M\nbwlimit: '08:00,2M'", ""), testEnv)
	if len(p) != 1 || p[0] != `jobs[0].bwlimit: "08:00,2MiB" cannot be combined with bandwidth 1MiB; set one of the two` {
		t.Errorf("both keys: %q", p)
	}
	p = problemsOf(t, "c.yaml", badJob("bwlimit: '08:00,2M 31:00,off'", ""), testEnv)
	if len(p) != 1 || !strings.HasPrefix(p[0], `jobs[0].bwlimit: invalid bwlimit timetable entry "31:00,off"`) {
		t.Errorf("bad entry: %q", p)
	}
	j = Job{}
	if err := j.SetBwLimit("Mon-08:00,1M"); err != nil || j.BwLimit.String() != "Mon-08:00,1MiB" {
		t.Errorf("SetBwLimit: %v %q", err, j.BwLimit)
	}
}

// FuzzBwTimetable: ParseBwLimit never panics, and what it accepts prints
// back to text that parses to the same timetable.
func FuzzBwTimetable(f *testing.F) {
	for _, s := range []string{"10M", "off", "08:00,512k 19:00,10M 23:00,off", "Mon-08:00,2M Sat-00:00,off 12:00,1M", "8:00,1M", "10M:1M", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		b, err := ParseBwLimit(text)
		if err != nil {
			return
		}
		back, err := ParseBwLimit(b.String())
		if err != nil || back.String() != b.String() {
			t.Fatalf("%q printed as %q: %v", text, b, err)
		}
		_ = b.RateAt(time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC))
	})
}
