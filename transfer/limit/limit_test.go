package limit_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/time/rate"

	"github.com/efssync/efssync/internal/desttest"
	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/count"
	"github.com/efssync/efssync/transfer/fsdest"
	"github.com/efssync/efssync/transfer/limit"
	"github.com/efssync/efssync/transfer/transfertest"
)

const mib = 1 << 20

func TestConformance(t *testing.T) {
	transfertest.RunTests(t, func(t *testing.T) transfer.Destination {
		return limit.New(desttest.NewFS(t), rate.NewLimiter(rate.Inf, 0))
	})
}

// near accepts the float rounding of the limiter's arithmetic.
func near(got, want time.Duration) bool {
	d := got - want
	return d > -time.Millisecond && d < time.Millisecond
}

func TestRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 1 MiB/s; the bucket starts full with a 256 KiB burst.
		l := rate.NewLimiter(mib, 256<<10)
		d := limit.New(desttest.NewFS(t), l)
		data := transfertest.Content(1, 4*mib)
		start := time.Now()
		transfertest.Upload(t, d, "f", data, mib)
		elapsed := time.Since(start)
		if want := 3750 * time.Millisecond; !near(elapsed, want) {
			t.Fatalf("4 MiB at 1 MiB/s with a 256 KiB burst took %v, want %v", elapsed, want)
		}
		transfertest.CheckContent(t, d, "f", data)
	})
}

// TestSharedAcrossDestinations shows the limit is on bytes sent: two
// destinations fed the same 2 MiB share the job's limiter and take as long
// as one destination fed 4 MiB.
func TestSharedAcrossDestinations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := rate.NewLimiter(mib, 256<<10)
		dests := []transfer.Destination{limit.New(desttest.NewFS(t), l), limit.New(desttest.NewFS(t), l)}
		data := transfertest.Content(2, 2*mib)
		start := time.Now()
		var wg sync.WaitGroup
		for _, d := range dests {
			wg.Go(func() { transfertest.Upload(t, d, "f", data, 64<<10) })
		}
		wg.Wait()
		if elapsed, want := time.Since(start), 3750*time.Millisecond; !near(elapsed, want) {
			t.Fatalf("2×2 MiB through one 1 MiB/s limiter took %v, want %v", elapsed, want)
		}
		for _, d := range dests {
			transfertest.CheckContent(t, d, "f", data)
		}
	})
}

func TestCanceledWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := rate.NewLimiter(1024, 1024) // 1 KiB/s: a 1 MiB write takes ~17 min
		c := count.New(desttest.NewFS(t))
		d := limit.New(c, l)
		u, err := d.Begin(t.Context(), "f", transfer.Meta{UID: -1, GID: -1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(time.Second, cancel)
		start := time.Now()
		err = u.Write(ctx, 0, make([]byte, mib))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Write: %v, want canceled", err)
		}
		if elapsed := time.Since(start); elapsed != time.Second {
			t.Fatalf("Write returned after %v, want when canceled (1s)", elapsed)
		}
		if n := c.Snapshot().Writes; n != 0 {
			t.Fatalf("%d writes reached the destination, want 0", n)
		}
		if err := u.Abort(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestZeroBurst(t *testing.T) {
	d := limit.New(desttest.NewFS(t), rate.NewLimiter(mib, 0))
	u, err := d.Begin(t.Context(), "f", transfer.Meta{UID: -1, GID: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Abort(t.Context())
	if err := u.Write(t.Context(), 0, []byte("x")); err == nil {
		t.Fatal("Write through a limiter with burst 0 succeeded")
	}
}

func TestNilLimiterAndAbilities(t *testing.T) {
	fs := desttest.NewFS(t)
	if d := limit.New(fs, nil); d != transfer.Destination(fs) {
		t.Fatal("a nil limiter should leave the destination unwrapped")
	}
	d := limit.New(fs, rate.NewLimiter(mib, mib))
	if got, ok := transfer.As[*fsdest.Dest](d); !ok || got != fs {
		t.Fatal("inner destination not reachable through Unwrap")
	}
	if _, ok := transfer.As[transfer.Lister](d); !ok {
		t.Fatal("inner abilities not reachable")
	}
	if d.Name() != "fs" {
		t.Fatalf("Name %q", d.Name())
	}
}

// steps is a timetable for tests: rate[i] is in force from at[i] on, and
// rate[0] before at[0]; 0 is no limit.
type steps struct {
	at   []time.Time
	rate []int64
}

func (s steps) RateAt(t time.Time) int64 {
	r := s.rate[0]
	for i, a := range s.at {
		if !t.Before(a) {
			r = s.rate[i]
		}
	}
	return r
}

// utcClock is the clock of the synctest bubble, read in UTC.
type utcClock struct{}

func (utcClock) Now() time.Time { return time.Now().UTC() }

// A timetable's rate applies from the write that finds it in force: 4 MiB in
// 1 MiB writes at 1 MiB/s take 3.75 s, but 2.75 s when the limit goes off at
// 2 s (the write starting at 2.75 s goes through at once).
func TestScheduledRateGoesOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		s := steps{at: []time.Time{start, start.Add(2 * time.Second)}, rate: []int64{mib, 0}}
		d := limit.NewScheduled(desttest.NewFS(t), rate.NewLimiter(rate.Inf, 256<<10), s, utcClock{})
		data := transfertest.Content(3, 4*mib)
		transfertest.Upload(t, d, "f", data, mib)
		if elapsed, want := time.Since(start), 2750*time.Millisecond; !near(elapsed, want) {
			t.Fatalf("took %v, want %v", elapsed, want)
		}
		transfertest.CheckContent(t, d, "f", data)
	})
}

// From "off" to a limit: unlimited writes take no time, then the limit holds.
func TestScheduledRateComesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		s := steps{at: []time.Time{start, start.Add(10 * time.Second)}, rate: []int64{0, mib}}
		d := limit.NewScheduled(desttest.NewFS(t), rate.NewLimiter(rate.Inf, 256<<10), s, utcClock{})
		transfertest.Upload(t, d, "a", transfertest.Content(4, 8*mib), mib)
		if elapsed := time.Since(start); elapsed != 0 {
			t.Fatalf("8 MiB with the limit off took %v, want 0", elapsed)
		}
		time.Sleep(10 * time.Second) // the bubble's clock: no real wait
		start = time.Now()
		transfertest.Upload(t, d, "b", transfertest.Content(5, 2*mib), mib)
		if elapsed, want := time.Since(start), 1750*time.Millisecond; !near(elapsed, want) {
			t.Fatalf("2 MiB at 1 MiB/s with a 256 KiB burst took %v, want %v", elapsed, want)
		}
	})
}

func TestScheduledWithoutSchedule(t *testing.T) {
	fs := desttest.NewFS(t)
	if d := limit.NewScheduled(fs, nil, steps{rate: []int64{1}}, utcClock{}); d != transfer.Destination(fs) {
		t.Fatal("a nil limiter should leave the destination unwrapped")
	}
}
