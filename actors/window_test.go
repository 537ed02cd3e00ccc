package actors

import (
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/watermark"
)

// A tumbling event-time window sum at parallelism 3 over a source at
// parallelism 2: every (key, window) fires once with the exact sum of its
// values, and its result carries the window's last timestamp.
func TestEngine_Run_tumblingWindowSum(t *testing.T) {
	const n = 20000
	e := newTestEngine(t, nil)
	p := operators.NewPipeline("window-sum")
	src := operators.Generate(p, n, func(i int64) kv { return kv{K: i % 7, V: i} }).Parallelism(2)
	timed := operators.AssignTimestamps(src, operators.WatermarkStrategy[kv]{
		Strategy:  watermark.ForPunctuated(func(ts int64) (int64, bool) { return ts - 1, ts%250 < 2 }),
		Timestamp: func(r kv, _ int64) int64 { return r.V },
	}).Parallelism(2)
	tumbling := window.Tumbling(time.Second)
	late := operators.NewOutputTag[kv]("late")
	keyed := operators.KeyBy(timed, func(r kv) int64 { return r.K })
	sums := operators.ReduceWindow(operators.Window(keyed, tumbling, operators.WithLateOutput(late)),
		func(a, b kv) kv { return kv{K: a.K, V: a.V + b.V} }).Parallelism(3)
	got := operators.Collect(sums)
	lateRecords := operators.Collect(operators.GetSideOutput(sums, late))
	if err := runPipeline(t, e, p); err != nil {
		t.Fatal(err)
	}
	if l := lateRecords.Values(); len(l) != 0 {
		t.Fatalf("%d records late, want none", len(l))
	}
	checkWindowSums(t, got, n)
}

func checkWindowSums(t *testing.T, got *operators.Collected[kv], n int64) {
	t.Helper()
	want := map[[2]int64]int64{} // (key, window end-1) → sum
	for i := range n {
		want[[2]int64{i % 7, i - i%1000 + 999}] += i
	}
	seen := map[[2]int64]bool{}
	for _, part := range got.BySubtask() {
		for _, el := range part {
			k := [2]int64{el.Value.K, el.Timestamp}
			if seen[k] {
				t.Fatalf("window %v fired twice", k)
			}
			seen[k] = true
			if el.Value.V != want[k] {
				t.Errorf("key %d window ending %d: sum %d, want %d", k[0], k[1], el.Value.V, want[k])
			}
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("%d windows fired, want %d", len(seen), len(want))
	}
}
