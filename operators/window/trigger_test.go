package window

import (
	"errors"
	"maps"
	"math"
	"slices"
	"testing"
	"time"
)

func wantResult(t *testing.T, what string, got, want TriggerResult) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func wantTimers(t *testing.T, timers map[timer]bool, want ...timer) {
	t.Helper()
	got := slices.Collect(maps.Keys(timers))
	slices.SortFunc(got, func(a, b timer) int { return int(a.time - b.time) })
	if !slices.Equal(got, want) {
		t.Fatalf("timers %v, want %v", got, want)
	}
}

func TestTriggerResult(t *testing.T) {
	for _, c := range []struct {
		r           TriggerResult
		fire, purge bool
		name        string
	}{
		{Continue, false, false, "Continue"},
		{Fire, true, false, "Fire"},
		{Purge, false, true, "Purge"},
		{FireAndPurge, true, true, "FireAndPurge"},
	} {
		if c.r.IsFire() != c.fire || c.r.IsPurge() != c.purge || c.r.String() != c.name {
			t.Errorf("%v: IsFire %v, IsPurge %v", c.r, c.r.IsFire(), c.r.IsPurge())
		}
	}
}

func TestEventTimeTrigger(t *testing.T) {
	ctx, tr, w := newFakeCtx(), EventTimeTrigger{}, Window{0, 10}
	ctx.watermark = 5
	wantResult(t, "OnElement before the end", tr.OnElement(ctx, 3, w), Continue)
	wantTimers(t, ctx.eventTimers, timer{w, 9})
	wantResult(t, "OnEventTime at the end", tr.OnEventTime(ctx, 9, w), Fire)
	wantResult(t, "OnEventTime at cleanup", tr.OnEventTime(ctx, 19, w), Continue)
	wantResult(t, "OnProcessingTime", tr.OnProcessingTime(ctx, 9, w), Continue)
	ctx.watermark = 9
	wantResult(t, "OnElement of a late record", tr.OnElement(ctx, 3, w), Fire)
	tr.Clear(ctx, w)
	wantTimers(t, ctx.eventTimers)
	tr.OnMerge(ctx, Window{0, 20}, []Window{w})
	wantTimers(t, ctx.eventTimers, timer{Window{0, 20}, 19})
	tr.OnMerge(ctx, Window{0, 5}, nil) // already passed: no timer
	wantTimers(t, ctx.eventTimers, timer{Window{0, 20}, 19})
}

func TestProcessingTimeTrigger(t *testing.T) {
	ctx, tr, w := newFakeCtx(), ProcessingTimeTrigger{}, Window{0, 10}
	wantResult(t, "OnElement", tr.OnElement(ctx, 3, w), Continue)
	wantTimers(t, ctx.procTimers, timer{w, 9})
	wantResult(t, "OnEventTime", tr.OnEventTime(ctx, 9, w), Continue)
	wantResult(t, "OnProcessingTime", tr.OnProcessingTime(ctx, 9, w), Fire)
	tr.Clear(ctx, w)
	wantTimers(t, ctx.procTimers)
	ctx.now = 12
	tr.OnMerge(ctx, Window{0, 12}, []Window{w}) // 11 has passed
	tr.OnMerge(ctx, Window{0, 20}, []Window{w})
	wantTimers(t, ctx.procTimers, timer{Window{0, 20}, 19})
}

func TestNeverTrigger(t *testing.T) {
	ctx, tr := newFakeCtx(), NeverTrigger{}
	ctx.watermark = 1 << 62
	wantResult(t, "OnElement", tr.OnElement(ctx, 0, GlobalWindow), Continue)
	wantResult(t, "OnEventTime", tr.OnEventTime(ctx, 0, GlobalWindow), Continue)
	wantResult(t, "OnProcessingTime", tr.OnProcessingTime(ctx, 0, GlobalWindow), Continue)
}

// Flink's GlobalWindows.EndOfStreamTrigger: a timer at the window's last
// timestamp, the end of time for the global window.
func TestEndOfStreamTrigger(t *testing.T) {
	ctx, tr := newFakeCtx(), EndOfStreamTrigger{}
	wantResult(t, "OnElement", tr.OnElement(ctx, 0, GlobalWindow), Continue)
	wantTimers(t, ctx.eventTimers, timer{GlobalWindow, math.MaxInt64})
	wantResult(t, "OnEventTime before the end", tr.OnEventTime(ctx, 1<<62, GlobalWindow), Continue)
	wantResult(t, "OnEventTime at the end", tr.OnEventTime(ctx, math.MaxInt64, GlobalWindow), Fire)
	wantResult(t, "OnProcessingTime", tr.OnProcessingTime(ctx, math.MaxInt64, GlobalWindow), Continue)
	tr.Clear(ctx, GlobalWindow)
	wantTimers(t, ctx.eventTimers)
}

func TestCountTrigger(t *testing.T) {
	ctx, w := newFakeCtx(), Window{0, 10}
	tr := NewCountTrigger(3)
	var got []TriggerResult
	for range 7 {
		got = append(got, tr.OnElement(ctx, 0, w))
	}
	want := []TriggerResult{Continue, Continue, Fire, Continue, Continue, Fire, Continue}
	if !slices.Equal(got, want) {
		t.Fatalf("results %v, want %v", got, want)
	}
	ctx.SetCount(Window{10, 20}, 1)
	tr.OnMerge(ctx, Window{0, 20}, []Window{w, {10, 20}})
	if ctx.Count(Window{0, 20}) != 2 {
		t.Fatalf("merged count %d, want 2", ctx.Count(Window{0, 20}))
	}
	tr.Clear(ctx, Window{0, 20})
	if ctx.Count(Window{0, 20}) != 0 {
		t.Fatal("Clear kept the count")
	}
	for _, n := range []int64{0, -1} {
		if err := NewCountTrigger(n).Validate(); !errors.Is(err, ErrInvalidTrigger) {
			t.Errorf("NewCountTrigger(%d): err = %v", n, err)
		}
	}
}

func TestPurgingTrigger(t *testing.T) {
	ctx, w := newFakeCtx(), Window{0, 10}
	tr := Purging(EventTimeTrigger{})
	wantResult(t, "OnElement", tr.OnElement(ctx, 3, w), Continue)
	wantResult(t, "OnEventTime", tr.OnEventTime(ctx, 9, w), FireAndPurge)
	wantResult(t, "OnEventTime at cleanup", tr.OnEventTime(ctx, 19, w), Continue)
	tr.Clear(ctx, w)
	wantTimers(t, ctx.eventTimers)
	pt := Purging(ProcessingTimeTrigger{})
	wantResult(t, "OnProcessingTime", pt.OnProcessingTime(ctx, 9, w), FireAndPurge)
	pt.OnMerge(ctx, Window{0, 20}, []Window{w})
	wantTimers(t, ctx.procTimers, timer{Window{0, 20}, 19})
}

// Checklist Windows 1 and 6: a tumbling window fires once the watermark
// reaches end-1; a late record within lateness re-fires it; past the
// cleanup time it goes to the late side output.
func TestHarness_tumblingLateness(t *testing.T) {
	h := newHarness(t, Tumbling(10*time.Millisecond), EventTimeTrigger{}, 5)
	h.element(1)
	h.element(9)
	h.element(10)
	h.advance(8)
	h.wantFired()
	h.advance(9)
	h.wantFired("[0, 10):[1 9]")
	h.element(4) // ts + lateness = 9 ≤ 9: a late record, but its window is kept
	h.wantFired("[0, 10):[1 9 4]")
	h.advance(14) // cleanup time of [0, 10): 9 + 5
	h.element(5)
	h.wantLate(5)
	h.advance(19)
	h.wantFired("[10, 20):[10]")
}

// Checklist Windows 6: a record behind the watermark in a window that has
// not fired counts normally.
func TestHarness_behindWatermarkNotLate(t *testing.T) {
	h := newHarness(t, Tumbling(10*time.Millisecond), EventTimeTrigger{}, 0)
	h.advance(5)
	h.element(3) // IsElementLate, yet [0, 10) is open
	h.advance(9)
	h.wantFired("[0, 10):[3]")
	h.wantLate()
}

// Checklist Windows 1: a sliding record is in size/slide windows.
func TestHarness_sliding(t *testing.T) {
	h := newHarness(t, Sliding(10*time.Millisecond, 5*time.Millisecond), EventTimeTrigger{}, 0)
	for _, ts := range []int64{-3, 2, 7} {
		h.element(ts)
	}
	h.advance(20)
	h.wantFired("[-10, 0):[-3]", "[-5, 5):[-3 2]", "[0, 10):[2 7]", "[5, 15):[7]")
}

// Checklist Windows 2: sessions merge and fire once as a whole.
func TestHarness_sessions(t *testing.T) {
	h := newHarness(t, Session(5*time.Millisecond), EventTimeTrigger{}, 0)
	for _, ts := range []int64{0, 3, 12, 30} {
		h.element(ts)
	}
	h.advance(6)
	h.wantFired()
	h.element(7) // [7, 12) touches both [0, 8) and [12, 17)
	h.advance(100)
	h.wantFired("[0, 17):[0 3 12 7]", "[30, 35):[30]")
}
