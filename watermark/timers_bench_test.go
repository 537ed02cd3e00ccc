package watermark

import (
	"fmt"
	"testing"
)

// queueBench is what the benchmarks drive: both queues.
type queueBench interface {
	Register(k int, ts int64) bool
	Delete(k int, ts int64) bool
	PopUpTo(ts int64, fn func(int, int64)) int
}

func benchQueues(b *testing.B, run func(b *testing.B, q queueBench)) {
	b.Run("byTime", func(b *testing.B) { run(b, NewTimerQueue[int]()) })
	b.Run("grouped", func(b *testing.B) { run(b, NewGroupedTimerQueue[int](func(k int) int { return k })) })
}

// BenchmarkTimerQueue_sessions moves one end timer per record, as
// session windows of a 10 000 ms gap do: record i at time i of key
// i mod keys extends its key's session, and the watermark follows 4 000
// ms behind. Per record.
func BenchmarkTimerQueue_sessions(b *testing.B) {
	const gap, delay = 10_000, 4_000
	for _, keys := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			benchQueues(b, func(b *testing.B, q queueBench) {
				end := make([]int64, keys)
				for i := range b.N {
					k, ts := i%keys, int64(i)
					if end[k] > ts-delay { // open: extend
						q.Delete(k, end[k])
					}
					end[k] = ts + gap
					q.Register(k, end[k])
					if i%100 == 0 {
						q.PopUpTo(ts-delay, func(int, int64) {})
					}
				}
			})
		})
	}
}

// BenchmarkTimerQueue_manyPerKey keeps 1 000 timers per key (sessions
// whose cleanup waits for a long allowed lateness): each record adds a
// timer of its key and the watermark fires the oldest. Per record.
func BenchmarkTimerQueue_manyPerKey(b *testing.B) {
	const keys, perKey = 10, 1000
	benchQueues(b, func(b *testing.B, q queueBench) {
		for i := range b.N {
			ts := int64(i)
			q.Register(i%keys, ts+keys*perKey)
			q.PopUpTo(ts, func(int, int64) {})
		}
	})
}
