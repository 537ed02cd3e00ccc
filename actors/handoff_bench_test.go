package actors

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkGoroutineHandoff measures what a hand-off between two cores
// costs on this machine, as a subtask pays it when it sends to an idle
// one: Proto.Actor starts a goroutine for a mailbox that gets a message,
// and the sender goes on working. Each sample spins for 300 µs (so that
// the other core goes idle and its thread sleeps), starts a goroutine and
// spins until that goroutine runs. It reports the median and p90 of the
// delay for three ways:
//
//   - runnext: the new goroutine is the only one started; Go puts it in
//     the starting core's runnext slot, which the idle core steals only
//     after a grace period;
//   - queued: a second, empty goroutine is started after it, pushing the
//     first out of runnext into the core's queue, which the idle core
//     steals at once;
//   - blocking: the starter blocks on a channel right after (the new
//     goroutine runs on the starter's core), for comparison.
//
// docs/benchmarks.md ("Where the wall time goes") explains why this
// bounds how fast MapFilterKeyedSum's two chains hand batches and credit
// to each other.
//
//	go test -run '^$' -bench GoroutineHandoff -benchtime 2000x ./actors/
func BenchmarkGoroutineHandoff(b *testing.B) {
	for _, way := range []string{"runnext", "queued", "blocking"} {
		b.Run(way, func(b *testing.B) {
			delays := make([]time.Duration, 0, b.N)
			for range b.N {
				delays = append(delays, handoffOnce(way))
			}
			slices.Sort(delays)
			b.ReportMetric(float64(delays[len(delays)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(delays[len(delays)*9/10].Microseconds()), "p90-µs")
		})
	}
}

// handoffOnce times one hand-off of the given way (see
// BenchmarkGoroutineHandoff).
func handoffOnce(way string) time.Duration {
	for end := time.Now().Add(300 * time.Microsecond); time.Now().Before(end); {
	}
	var ran atomic.Int64
	done := make(chan struct{})
	start := time.Now()
	go func() {
		ran.Store(time.Now().UnixNano())
		close(done)
	}()
	switch way {
	case "queued":
		go func() {}()
	case "blocking":
		<-done
	}
	for ran.Load() == 0 {
	}
	return time.Duration(ran.Load() - start.UnixNano())
}
