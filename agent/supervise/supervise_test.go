package supervise

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A failing job is restarted with a doubling backoff, each restart is
// reported, and a healthy job next to it keeps running undisturbed.
func TestFailedJobRestartsWithBackoffOthersKeepRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		var mu sync.Mutex
		var starts []time.Duration
		begin := time.Now()
		var healthyRuns atomic.Int32
		var restarts atomic.Int32
		jobs := []Job{
			{Name: "flaky", Run: func(context.Context) error {
				mu.Lock()
				starts = append(starts, time.Since(begin))
				mu.Unlock()
				return errors.New("mount went away")
			}},
			{Name: "healthy", Run: func(ctx context.Context) error {
				healthyRuns.Add(1)
				<-ctx.Done()
				return nil
			}},
		}
		done := make(chan struct{})
		go func() {
			Run(ctx, jobs, Options{MinBackoff: time.Second, MaxBackoff: 4 * time.Second,
				Restarted: func(string) { restarts.Add(1) }})
			close(done)
		}()
		time.Sleep(12 * time.Second) // fake time: the bubble's clock
		synctest.Wait()
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		want := []time.Duration{0, 1 * time.Second, 3 * time.Second, 7 * time.Second, 11 * time.Second}
		if len(starts) != len(want) {
			t.Fatalf("flaky job started at %v, want %v", starts, want)
		}
		for i := range want {
			if starts[i] != want[i] {
				t.Fatalf("flaky job started at %v, want %v", starts, want)
			}
		}
		if n := restarts.Load(); n != int32(len(want)-1) {
			t.Fatalf("%d restarts reported, want %d", n, len(want)-1)
		}
		if n := healthyRuns.Load(); n != 1 {
			t.Fatalf("healthy job ran %d times, want once", n)
		}
	})
}

// A job that returns nil is done and is not restarted.
func TestFinishedJobIsNotRestarted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var runs atomic.Int32
		Run(t.Context(), []Job{{Name: "once", Run: func(context.Context) error { runs.Add(1); return nil }}}, Options{})
		if runs.Load() != 1 {
			t.Fatalf("ran %d times", runs.Load())
		}
	})
}
