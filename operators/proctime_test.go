package operators_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/testkit"
)

// Processing-time timers fire once the clock is past their time, as in
// Flink (ProcessingTimeServiceUtil adds 1 ms "to align with watermark
// semantics"): a timer for T is a promise about [.., T], and at T a
// record may still come for it (issue 19, bug 1).

// A tumbling processing-time window of 10 ms still takes a record in its
// last millisecond, and fires once, with both records, when its end has
// come.
func TestWindow_processingTime_firesPastTheWindowEnd(t *testing.T) {
	h := reduceHarness(t, window.TumblingProcessing(ms(10)))
	h.ProcessElement(ev{"a", 1}, operators.NoTimestamp) // at the window's start
	h.AdvanceProcessingTime(ms(9))                      // its last millisecond
	h.ProcessElement(ev{"a", 2}, operators.NoTimestamp)
	if got := h.Values(); len(got) != 0 {
		t.Fatalf("fired %v in the window's last millisecond", got)
	}
	h.AdvanceProcessingTime(ms(1)) // the window's end
	if got := fmt.Sprint(h.Values()); got != "[{a 3}]" {
		t.Fatalf("fired %s, want [{a 3}]", got)
	}
}

// A keyed processing-time timer for T fires at T+1 ms, with its own time.
func TestProcessKeyedWithTimers_processingTimerFiresPastItsTime(t *testing.T) {
	var t0 int64
	h := testkit.NewKeyedHarness(t, evKey, func(ks operators.KeyedStream[ev, string]) operators.Stream[string] {
		return operators.ProcessKeyedWithTimers(ks,
			func(ctx *operators.KeyedContext[string], e ev, _ operators.Collector[string]) error {
				ctx.RegisterProcessingTimer(ctx.ProcessingTime().Add(ms(e.V)))
				return nil
			},
			func(ctx *operators.KeyedContext[string], tm operators.Timer, out operators.Collector[string]) error {
				out.Collect(fmt.Sprintf("%s@+%d", ctx.Key(), tm.Time-t0), operators.NoTimestamp)
				return nil
			})
	})
	t0 = h.ProcessingTime().UnixMilli()
	h.ProcessElement(ev{"a", 10}, operators.NoTimestamp) // timer at t0+10
	h.ProcessElement(ev{"b", 11}, operators.NoTimestamp) // timer at t0+11
	h.AdvanceProcessingTime(ms(10))
	if got := h.Values(); len(got) != 0 {
		t.Fatalf("fired %v at the timer's time, want nothing before it has passed", got)
	}
	h.AdvanceProcessingTime(ms(1))
	if got := fmt.Sprint(h.Values()); got != "[a@+10]" {
		t.Fatalf("fired %s at t0+11, want [a@+10]", got)
	}
	h.AdvanceProcessingTime(time.Millisecond)
	if got := fmt.Sprint(h.Values()); got != "[a@+10 b@+11]" {
		t.Fatalf("fired %s at t0+12, want [a@+10 b@+11]", got)
	}
}
