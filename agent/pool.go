package agent

import "sync"

// runWorkers is the one worker pool of the agent: n goroutines (at least
// one) take items from in until it is closed, each handing them to do; it
// returns when all are done. Once mode's pass, the restore pass and the
// restore verify use it, so a job's concurrency means the same everywhere.
func runWorkers[T any](n int, in <-chan T, do func(T)) {
	var wg sync.WaitGroup
	for range max(n, 1) {
		wg.Go(func() {
			for t := range in {
				do(t)
			}
		})
	}
	wg.Wait()
}
