package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// BwLimit is the key bwlimit: a job's bandwidth as a plain rate ("10M",
// "off") or as rclone's timetable, so that a migration can run fast at
// night and gently in office hours:
//
//	bwlimit: "08:00,512k 19:00,10M 23:00,off"
//	bwlimit: "Mon-08:00,2M Sat-00:00,off 12:00,1M"
//
// Each entry is [Day-]HH:MM,RATE and sets RATE from that time until the next
// entry; the last entry of the week carries over to the first. An entry
// without a day (Mon, Tue, ... Sun) repeats every day. RATE is a size per
// second (ParseSize: "10M" is 10 MiB/s, a bare number is bytes, unlike
// rclone's KiB) or "off" for no limit. The bandwidth in force is the job's
// total over all destinations (transfer/limit).
type BwLimit []BwSlot

// BwSlot is one entry of a timetable.
type BwSlot struct {
	// Day is the weekday the slot starts on; Daily slots repeat every day.
	Day   time.Weekday
	Daily bool
	// Minute is the time of day the slot starts, in minutes after midnight;
	// -1 for a plain rate, which is in force all the time.
	Minute int
	// Rate is in bytes per second; 0 is "off", no limit.
	Rate Size
}

// maxBwSlots bounds a timetable: one entry per minute of a week.
const maxBwSlots = 7 * 24 * 60

var weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseBwLimit reads a plain rate or a timetable; see BwLimit. Empty text
// is no limit (nil).
func ParseBwLimit(text string) (BwLimit, error) {
	fields := strings.Fields(text)
	if len(fields) == 0 {
		return nil, nil
	}
	if len(fields) == 1 && !strings.Contains(fields[0], ",") {
		if strings.Contains(fields[0], ":") {
			return nil, fmt.Errorf("invalid bwlimit %q: want a rate (10M, off) or timetable entries [Day-]HH:MM,RATE; upload:download pairs are not supported, efssync only uploads", text)
		}
		r, err := parseRate(fields[0])
		if err != nil {
			return nil, fmt.Errorf("invalid bwlimit %q: %w", text, err)
		}
		return BwLimit{{Minute: -1, Rate: r}}, nil
	}
	if len(fields) > maxBwSlots {
		return nil, fmt.Errorf("invalid bwlimit: %d timetable entries, at most %d", len(fields), maxBwSlots)
	}
	out := make(BwLimit, 0, len(fields))
	seen := map[int]string{}
	for _, f := range fields {
		s, err := parseBwSlot(f)
		if err != nil {
			return nil, fmt.Errorf("invalid bwlimit timetable entry %q: %w (want [Day-]HH:MM,RATE such as 08:00,10M or Mon-19:00,off)", f, err)
		}
		for _, at := range s.starts() {
			if prev, dup := seen[at]; dup {
				return nil, fmt.Errorf("invalid bwlimit timetable: %q and %q start at the same time", prev, f)
			}
			seen[at] = f
		}
		out = append(out, s)
	}
	return out, nil
}

func parseBwSlot(f string) (BwSlot, error) {
	at, rate, ok := strings.Cut(f, ",")
	if !ok {
		return BwSlot{}, fmt.Errorf("no ',' between time and rate")
	}
	s := BwSlot{Daily: true}
	if day, clock, ok := strings.Cut(at, "-"); ok {
		d := slices.Index(weekdays, strings.ToLower(day))
		if d < 0 {
			return BwSlot{}, fmt.Errorf("unknown day %q (Mon, Tue, Wed, Thu, Fri, Sat or Sun)", day)
		}
		s.Day, s.Daily, at = time.Weekday(d), false, clock
	}
	hh, mm, ok := strings.Cut(at, ":")
	h, herr := strconv.Atoi(hh)
	m, merr := strconv.Atoi(mm)
	if !ok || len(hh) != 2 || len(mm) != 2 || herr != nil || merr != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return BwSlot{}, fmt.Errorf("time %q is not HH:MM from 00:00 to 23:59", at)
	}
	s.Minute = h*60 + m
	r, err := parseRate(rate)
	s.Rate = r
	return s, err
}

// parseRate reads "off" or a size per second.
func parseRate(s string) (Size, error) {
	if strings.EqualFold(s, "off") {
		return 0, nil
	}
	return ParseSize(s)
}

// starts lists the minutes of the week the slot starts at.
func (s BwSlot) starts() []int {
	if !s.Daily {
		return []int{int(s.Day)*1440 + s.Minute}
	}
	out := make([]int, 7)
	for d := range out {
		out[d] = d*1440 + s.Minute
	}
	return out
}

// RateAt returns the rate in force at t (in t's location), in bytes per
// second; 0 is no limit.
func (b BwLimit) RateAt(t time.Time) int64 {
	now := int(t.Weekday())*1440 + t.Hour()*60 + t.Minute()
	best, bestAt, lastAt := Size(0), -1, -1
	var last Size
	for _, s := range b {
		if s.Minute < 0 {
			return int64(s.Rate)
		}
		for _, at := range s.starts() {
			if at <= now && at > bestAt {
				best, bestAt = s.Rate, at
			}
			if at > lastAt {
				last, lastAt = s.Rate, at
			}
		}
	}
	if bestAt < 0 {
		return int64(last) // before the week's first entry: the last carries over
	}
	return int64(best)
}

// String prints the limit in the syntax ParseBwLimit reads.
func (b BwLimit) String() string {
	parts := make([]string, 0, len(b))
	for _, s := range b {
		rate := "off"
		if s.Rate > 0 {
			rate = s.Rate.String()
		}
		if s.Minute < 0 {
			parts = append(parts, rate)
			continue
		}
		day := ""
		if !s.Daily {
			day = strings.ToUpper(weekdays[s.Day][:1]) + weekdays[s.Day][1:] + "-"
		}
		parts = append(parts, fmt.Sprintf("%s%02d:%02d,%s", day, s.Minute/60, s.Minute%60, rate))
	}
	return strings.Join(parts, " ")
}

// Plain reports whether the limit is one rate at all times.
func (b BwLimit) Plain() bool { return len(b) == 1 && b[0].Minute < 0 }

// UnmarshalText lets BwLimit be decoded with ParseBwLimit's syntax.
func (b *BwLimit) UnmarshalText(text []byte) error {
	v, err := ParseBwLimit(string(text))
	*b = v
	return err
}

// MarshalText prints the limit as String does, so printed configs reload.
func (b BwLimit) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// SetBwLimit sets the job's bandwidth from text in ParseBwLimit's syntax,
// replacing bandwidth and bwlimit, as the command line's --bwlimit does.
func (j *Job) SetBwLimit(text string) error {
	b, err := ParseBwLimit(text)
	if err != nil {
		return err
	}
	j.BwLimit, j.Bandwidth = b, 0
	j.syncBandwidth()
	return nil
}

// BandwidthSchedule is the job's bandwidth as a timetable, from bwlimit or
// the plain key bandwidth; nil when unlimited. The agent gives it to
// limit.NewScheduled.
func (j Job) BandwidthSchedule() BwLimit {
	if len(j.BwLimit) > 0 {
		return j.BwLimit
	}
	if j.Bandwidth > 0 {
		return BwLimit{{Minute: -1, Rate: j.Bandwidth}}
	}
	return nil
}

// syncBandwidth copies a plain bwlimit into Bandwidth, the key that code
// predating timetables reads.
func (j *Job) syncBandwidth() {
	if j.BwLimit.Plain() && j.Bandwidth == 0 {
		j.Bandwidth = j.BwLimit[0].Rate
	}
}

// checkBwLimit refuses a job that sets bandwidth and bwlimit differently.
func (j *Job) checkBwLimit(c *checker, p string) {
	if len(j.BwLimit) > 0 && j.Bandwidth != 0 && !(j.BwLimit.Plain() && j.BwLimit[0].Rate == j.Bandwidth) {
		c.add(p+".bwlimit", "%q cannot be combined with bandwidth %s; set one of the two", j.BwLimit, j.Bandwidth)
	}
}
