package operators

import "time"

// AsyncLatencyBuckets are the upper bounds of the buckets of an async
// operator's latency histogram (AsyncStats.Latency): from 100 µs, for a
// cache next door, to 10 s, beyond any sensible timeout.
var AsyncLatencyBuckets = [...]time.Duration{
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// LatencyHistogram counts durations in the buckets of
// AsyncLatencyBuckets. It is a plain value: its owner updates it on one
// goroutine and hands out copies.
type LatencyHistogram struct {
	// Counts[i] counts the durations d with AsyncLatencyBuckets[i-1] < d ≤
	// AsyncLatencyBuckets[i]; the last element counts those above every
	// bound. Counts are not cumulative.
	Counts [len(AsyncLatencyBuckets) + 1]int64
	Count  int64         // durations observed
	Sum    time.Duration // their sum
}

// Observe counts one duration.
func (h *LatencyHistogram) Observe(d time.Duration) {
	i := 0
	for i < len(AsyncLatencyBuckets) && d > AsyncLatencyBuckets[i] {
		i++
	}
	h.Counts[i]++
	h.Count++
	h.Sum += d
}
