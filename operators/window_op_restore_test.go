package operators_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/testkit"
)

// lateFiringRun drives a window of [0, 10) with an allowed lateness of
// 5 ms: records at 1 and 5, watermark 9 (the first firing, 6), then,
// after a snapshot and restore if restore is set, the watermarks before,
// a late record at lateTs and watermarks 9 and 30. It returns every sum
// emitted, before and after the restore.
func lateFiringRun(t *testing.T, a operators.WindowAssigner, restore bool, before []int64, lateTs int64) []int64 {
	t.Helper()
	build := func(ks operators.KeyedStream[ev, string]) operators.Stream[ev] {
		return operators.ReduceWindow(operators.Window(ks, a, operators.WithAllowedLateness(ms(5))), sumEv)
	}
	h := testkit.NewKeyedHarness(t, evKey, build)
	h.ProcessElement(ev{"a", 1}, 1)
	h.ProcessElement(ev{"a", 5}, 5)
	h.ProcessWatermark(9)
	var sums []int64
	if restore {
		for _, v := range h.Values() {
			sums = append(sums, v.V)
		}
		h = testkit.NewKeyedHarness(t, evKey, build, testkit.RestoreFrom(h.Snapshot(1)))
	}
	for _, wm := range before {
		h.ProcessWatermark(wm)
	}
	h.ProcessElement(ev{"a", lateTs}, lateTs)
	h.ProcessWatermark(9)
	h.ProcessWatermark(30)
	for _, v := range h.Values() {
		sums = append(sums, v.V)
	}
	return sums
}

// Review finding 3: a record within the allowed lateness for a window
// that has fired fires it again after a restore too, as in Flink: the
// restored operator's watermark is −∞, so the trigger registers the
// window's timer again (the first one fired before the snapshot) and the
// next watermark fires it. Without a restore the record fires the window
// at once; both emit the same sums.
func TestWindow_lateFiringAfterRestore(t *testing.T) {
	cases := []struct {
		name   string
		a      operators.WindowAssigner
		lateTs int64
		want   []int64 // sums emitted, in order
	}{
		// [0,10): 6 at watermark 9, then 1+5+4.
		{"tumbling", window.Tumbling(ms(10)), 4, []int64{6, 10}},
		// [-5,5): 1; [0,10): 6; then [0,10) again with 6 and [5,15)
		// with 5+6 at watermark 30. A record at 4 would also go to
		// [-5,5), cleaned up at 9: late without a restore, not after.
		{"sliding", window.Sliding(ms(10), ms(5)), 6, []int64{1, 6, 12, 11}},
		// [1,10): 6; the record at 4 falls inside the session.
		{"session", window.Session(ms(5)), 4, []int64{6, 10}},
	}
	for _, c := range cases {
		for _, before := range [][]int64{nil, {5}} {
			t.Run(fmt.Sprintf("%s/watermarks %v", c.name, before), func(t *testing.T) {
				if got := lateFiringRun(t, c.a, false, before, c.lateTs); !equal(got, c.want) {
					t.Fatalf("without a restore: sums %v, want %v", got, c.want)
				}
				if got := lateFiringRun(t, c.a, true, before, c.lateTs); !equal(got, c.want) {
					t.Fatalf("after a restore: sums %v, want %v", got, c.want)
				}
			})
		}
	}
}

// The fast path for records added to a window with contents stays
// correct after a restore for windows that have not fired: their timers
// come back with the snapshot.
func TestWindow_restoredPendingWindowFires(t *testing.T) {
	build := func(ks operators.KeyedStream[ev, string]) operators.Stream[ev] {
		return operators.ReduceWindow(operators.Window(ks, window.Tumbling(ms(10)),
			operators.WithAllowedLateness(ms(5))), sumEv)
	}
	h := testkit.NewKeyedHarness(t, evKey, build)
	h.ProcessElement(ev{"a", 1}, 1)  // [0,10)
	h.ProcessElement(ev{"a", 2}, 12) // [10,20)
	h.ProcessWatermark(9)            // fires [0,10): 1
	r := testkit.NewKeyedHarness(t, evKey, build, testkit.RestoreFrom(h.Snapshot(1)))
	r.ProcessElement(ev{"a", 4}, 15) // [10,20) has not fired
	r.ProcessElement(ev{"a", 8}, 13)
	r.ProcessWatermark(19)
	r.ProcessWatermark(30)
	wantOutput(t, r.Output(), "{a 14}@19 watermark(19) watermark(30)")
}

// Processing-time windows keep firing after a restore: the window's
// timer comes back with the snapshot, and a record after the restore
// registers it again (the processing-time trigger always does).
func TestWindow_processingTimeAfterRestore(t *testing.T) {
	build := func(ks operators.KeyedStream[ev, string]) operators.Stream[ev] {
		return operators.ReduceWindow(operators.Window(ks, window.TumblingProcessing(ms(10))), sumEv)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := testkit.NewKeyedHarness(t, evKey, build, testkit.WithProcessingTime(start))
	h.ProcessElement(ev{"a", 1}, operators.NoTimestamp)
	h.AdvanceProcessingTime(ms(12)) // fires [0,10): 1
	h.ProcessElement(ev{"a", 2}, operators.NoTimestamp)
	snap := h.Snapshot(1)
	r := testkit.NewKeyedHarness(t, evKey, build, testkit.RestoreFrom(snap), testkit.WithProcessingTime(start.Add(ms(13))))
	r.ProcessElement(ev{"a", 4}, operators.NoTimestamp) // [10,20) again
	r.AdvanceProcessingTime(ms(10))
	r.ProcessElement(ev{"a", 8}, operators.NoTimestamp) // [20,30)
	r.AdvanceProcessingTime(ms(10))
	got := []int64{}
	for _, v := range append(h.Values(), r.Values()...) {
		got = append(got, v.V)
	}
	if want := []int64{1, 6, 8}; !equal(got, want) {
		t.Fatalf("sums %v, want %v", got, want)
	}
}
