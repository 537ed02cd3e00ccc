package operators_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/testkit"
)

var lateTag = operators.NewOutputTag[ev]("late")

func lateHarness(t *testing.T, a operators.WindowAssigner, lateness time.Duration) *testkit.Harness[ev, ev] {
	return testkit.NewKeyedHarness(t, evKey, func(ks operators.KeyedStream[ev, string]) operators.Stream[ev] {
		ws := operators.Window(ks, a, operators.WithAllowedLateness(lateness), operators.WithLateOutput(lateTag))
		return operators.ReduceWindow(ws, sumEv)
	}, testkit.WithSideOutput[ev](lateTag))
}

func wantCounts(t *testing.T, h interface {
	Timers() int
	StateEntries() int
}, timers, entries int) {
	t.Helper()
	if h.Timers() != timers || h.StateEntries() != entries {
		t.Fatalf("timers %d, state entries %d; want %d and %d", h.Timers(), h.StateEntries(), timers, entries)
	}
}

// Checklist Windows 6: a late record within the allowed lateness fires
// its window again; the state goes at the last timestamp + lateness; a
// record is late when ts + lateness ≤ watermark.
func TestWindow_allowedLateness(t *testing.T) {
	h := lateHarness(t, window.Tumbling(ms(10)), ms(5))
	h.ProcessElement(ev{"a", 1}, 1)
	h.ProcessWatermark(9)
	wantCounts(t, h, 1, 1)          // the cleanup timer at 14 and the contents
	h.ProcessElement(ev{"a", 2}, 3) // behind the watermark, within lateness
	wantOutput(t, h.Output(), "{a 1}@9 watermark(9) {a 3}@9")
	h.ProcessWatermark(14)
	wantCounts(t, h, 0, 0)
	h.ProcessElement(ev{"a", 4}, 9)  // 9+5 ≤ 14: late, its window is gone
	h.ProcessElement(ev{"a", 8}, 10) // a new window
	h.EndInput()
	wantOutput(t, h.Output(), "{a 1}@9 watermark(9) {a 3}@9 watermark(14) {a 8}@19 watermark(max)")
	wantOutput(t, testkit.SideOutput(h, lateTag), "watermark(9) watermark(14) {a 4}@9 watermark(max)")
}

// Checklist Windows 6: a cleanup time past the end of int64 saturates: no
// cleanup timer, no wrapped time that would clear the window at once.
func TestWindow_allowedLatenessNoOverflow(t *testing.T) {
	huge := time.Duration(math.MaxInt64/int64(time.Millisecond)) * time.Millisecond
	h := lateHarness(t, window.Tumbling(ms(10)), huge)
	ts := int64(math.MaxInt64 - 100) // window [max-107, max-97)
	h.ProcessElement(ev{"a", 1}, ts)
	wantCounts(t, h, 1, 1) // only the firing timer
	h.ProcessWatermark(math.MaxInt64 - 90)
	h.ProcessElement(ev{"a", 2}, ts) // not late: fires again
	if got := h.Values(); len(got) != 2 || got[0].V != 1 || got[1].V != 3 {
		t.Fatalf("values %v, want sums 1 then 3", got)
	}
	if got := testkit.SideValues(h, lateTag); len(got) != 0 {
		t.Fatalf("late records %v, want none", got)
	}
}

// Checklist Windows 7: records past lateness go to the late side output,
// for tumbling, sliding and session windows; a record with another window
// that is not late does not.
func TestWindow_lateSideOutput(t *testing.T) {
	cases := []struct {
		name     string
		assigner operators.WindowAssigner
		late     []int64 // timestamps after watermark 100
		onTime   []int64
	}{
		{"tumbling", window.Tumbling(ms(10)), []int64{50, 99}, []int64{100, 101}},
		{"sliding", window.Sliding(ms(10), ms(5)), []int64{50, 94}, []int64{95, 99}},
		{"session", window.Session(ms(10)), []int64{50, 91}, []int64{92, 99}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := lateHarness(t, c.assigner, 0)
			h.ProcessWatermark(100)
			for _, ts := range append(c.late, c.onTime...) {
				h.ProcessElement(ev{"a", ts}, ts)
			}
			var late []int64
			for _, e := range testkit.SideValues(h, lateTag) {
				late = append(late, e.V)
			}
			if !equal(late, c.late) || h.LateRecordsDropped() != 0 {
				t.Fatalf("late %v (dropped %d), want %v", late, h.LateRecordsDropped(), c.late)
			}
			h.EndInput()
			if len(h.Values()) == 0 {
				t.Fatal("the records on time fired no window")
			}
		})
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Checklist Windows 7: with a huge lateness nothing is late.
func TestWindow_hugeLatenessNothingLate(t *testing.T) {
	h := lateHarness(t, window.Session(ms(10)), 24*time.Hour)
	h.ProcessWatermark(1000)
	h.ProcessElement(ev{"a", 1}, 1)
	h.ProcessElement(ev{"a", 2}, 5)
	wantOutput(t, h.Output(), "watermark(1000) {a 1}@10 {a 3}@14")
	if got := testkit.SideValues(h, lateTag); len(got) != 0 {
		t.Fatalf("late records %v, want none", got)
	}
}

// Late records without a late output are dropped and counted, never
// silently.
func TestWindow_lateRecordsCounted(t *testing.T) {
	h := reduceHarness(t, window.Tumbling(ms(10)))
	h.ProcessWatermark(100)
	h.ProcessElement(ev{"a", 1}, 3)
	h.ProcessElement(ev{"a", 1}, 4)
	if h.LateRecordsDropped() != 2 {
		t.Fatalf("LateRecordsDropped = %d, want 2", h.LateRecordsDropped())
	}
}

// Checklist Windows 8: cleanup timers fire when a purging trigger left
// the window's state empty, and when a trigger never fired.
func TestWindow_cleanupEmptyState(t *testing.T) {
	trigger := window.Purging(window.NewCountTrigger(2))
	h := reduceHarness(t, window.Tumbling(ms(10)), operators.WithTrigger(trigger), operators.WithAllowedLateness(ms(5)))
	h.ProcessElement(ev{"a", 1}, 1)
	h.ProcessElement(ev{"a", 2}, 2) // fires and purges
	wantOutput(t, h.Output(), "{a 3}@9")
	wantCounts(t, h, 1, 0) // the cleanup timer, nothing else
	h.ProcessWatermark(14)
	wantCounts(t, h, 0, 0)
	h.ProcessElement(ev{"a", 4}, 21) // one record: the count trigger holds it
	wantCounts(t, h, 1, 2)           // contents and counter
	h.ProcessWatermark(34)
	wantCounts(t, h, 0, 0)
	wantOutput(t, h.Output(), "{a 3}@9 watermark(14) watermark(34)")
}

// Checklist Windows 4: processing-time tumbling, sliding and session
// windows on a manual clock.
func TestWindow_processingTime(t *testing.T) {
	cases := []struct {
		name     string
		assigner operators.WindowAssigner
		want     string // fired at t0+ the offsets, by window start offset
	}{
		{"tumbling", window.TumblingProcessing(ms(10)), "0-10:3 10-20:4"},
		{"sliding", window.SlidingProcessing(ms(10), ms(5)), "-5-5:1 0-10:3 5-15:2 10-20:4 15-25:4"},
		{"session", window.SessionProcessing(ms(10)), "0-25:7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := testkit.NewKeyedHarness(t, evKey, func(ks operators.KeyedStream[ev, string]) operators.Stream[winSum] {
				return operators.AggregateWindowWith(operators.Window(ks, c.assigner), sumAgg, sumResult)
			})
			t0 := h.ProcessingTime().UnixMilli() // a multiple of 10
			h.ProcessElement(ev{"a", 1}, operators.NoTimestamp)
			h.AdvanceProcessingTime(ms(7))
			h.ProcessElement(ev{"a", 2}, operators.NoTimestamp)
			h.AdvanceProcessingTime(ms(8)) // t0+15
			h.ProcessElement(ev{"a", 4}, operators.NoTimestamp)
			h.AdvanceProcessingTime(ms(100))
			if got := showWindows(h.Output(), t0); got != c.want {
				t.Fatalf("fired %s, want %s", got, c.want)
			}
			wantCounts(t, h, 0, 0)
		})
	}
}

// showWindows shows each fired window relative to t0 as "start-end:sum",
// checking that it fired with its last timestamp.
func showWindows(items []testkit.Item[winSum], t0 int64) string {
	var s []string
	for _, it := range items {
		if !it.IsRecord() {
			continue
		}
		w := it.Value
		mark := ""
		if it.Timestamp != w.End-1 {
			mark = "(bad timestamp)"
		}
		s = append(s, fmt.Sprintf("%d-%d:%d%s", w.Start-t0, w.End-t0, w.Sum, mark))
	}
	return strings.Join(s, " ")
}
