package operators_test

import (
	"testing"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/testkit"
)

// benchKeyed feeds b.N records of 1000 keys, one record per ms of event
// time with a watermark every 1000 records, through a keyed operator in
// the harness (without its copy check), and reports records per second.
func benchKeyed(b *testing.B, op func(operators.KeyedStream[ev, string]) operators.Stream[ev]) {
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))
	}
	h := testkit.NewKeyedHarness(b, evKey, op, testkit.WithoutCopyCheck())
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		h.ProcessElement(ev{keys[i%len(keys)], 1}, int64(i))
		if i%1000 == 999 {
			h.ProcessWatermark(int64(i))
			h.ClearOutput()
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkKeyedReduce is the baseline: a running sum per key.
func BenchmarkKeyedReduce(b *testing.B) {
	benchKeyed(b, func(ks operators.KeyedStream[ev, string]) operators.Stream[ev] {
		return operators.Reduce(ks, sumEv)
	})
}

// BenchmarkTumblingWindowSum sums per key in tumbling 100 ms event-time
// windows.
func BenchmarkTumblingWindowSum(b *testing.B) {
	tumbling := window.Tumbling(ms(100))
	benchKeyed(b, func(ks operators.KeyedStream[ev, string]) operators.Stream[ev] {
		return operators.ReduceWindow(operators.Window(ks, tumbling), sumEv)
	})
}
