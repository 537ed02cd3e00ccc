package window

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"testing"
)

// timer is a registered timer of fakeCtx.
type timer struct {
	w    Window
	time int64
}

// fakeCtx is the TriggerContext of the tests: the timers and counters of
// one key, in maps.
type fakeCtx struct {
	watermark, now int64
	eventTimers    map[timer]bool
	procTimers     map[timer]bool
	counts         map[Window]int64
}

func newFakeCtx() *fakeCtx {
	return &fakeCtx{
		watermark:   -1 << 63,
		eventTimers: map[timer]bool{},
		procTimers:  map[timer]bool{},
		counts:      map[Window]int64{},
	}
}

func (c *fakeCtx) CurrentWatermark() int64                       { return c.watermark }
func (c *fakeCtx) CurrentProcessingTime() int64                  { return c.now }
func (c *fakeCtx) RegisterEventTimeTimer(w Window, t int64)      { c.eventTimers[timer{w, t}] = true }
func (c *fakeCtx) DeleteEventTimeTimer(w Window, t int64)        { delete(c.eventTimers, timer{w, t}) }
func (c *fakeCtx) RegisterProcessingTimeTimer(w Window, t int64) { c.procTimers[timer{w, t}] = true }
func (c *fakeCtx) DeleteProcessingTimeTimer(w Window, t int64)   { delete(c.procTimers, timer{w, t}) }
func (c *fakeCtx) Count(w Window) int64                          { return c.counts[w] }

func (c *fakeCtx) SetCount(w Window, n int64) {
	if n == 0 {
		delete(c.counts, w)
		return
	}
	c.counts[w] = n
}

var _ TriggerContext = (*fakeCtx)(nil)

// nextTimer removes and returns the earliest event timer at or before wm.
func (c *fakeCtx) nextTimer(wm int64) (timer, bool) {
	ts := slices.SortedFunc(maps.Keys(c.eventTimers), func(a, b timer) int {
		return cmp.Or(cmp.Compare(a.time, b.time), cmp.Compare(a.w.Start, b.w.Start))
	})
	if len(ts) == 0 || ts[0].time > wm {
		return timer{}, false
	}
	delete(c.eventTimers, ts[0])
	return ts[0], true
}

// harness is a miniature event-time window operator for one key, built
// from this package's parts the way the real operator will use them, so
// that tests can check the behaviours of CHECKLISTS.md end to end.
type harness struct {
	t        *testing.T
	assigner Assigner
	trigger  Trigger
	evictor  Evictor // may be nil
	lateness int64
	ctx      *fakeCtx
	set      *MergingSet
	contents map[Window][]int64 // by state window
	fired    []string           // "window:contents" per firing
	late     []int64            // the late side output
	buf      []Window
}

func newHarness(t *testing.T, a Assigner, tr Trigger, lateness int64) *harness {
	return &harness{t: t, assigner: a, trigger: tr, lateness: lateness, ctx: newFakeCtx(),
		set: NewMergingSet(), contents: map[Window][]int64{}}
}

// element processes a record with timestamp ts.
func (h *harness) element(ts int64) {
	h.t.Helper()
	skipped := true
	h.buf = h.assigner.Assign(ts, h.buf[:0])
	for _, w := range h.buf {
		state := w
		if h.assigner.Merging() {
			var err error
			if w, err = h.set.Add(w, h.merge); err != nil {
				h.t.Fatal(err)
			}
			state, _ = h.set.StateWindow(w)
		}
		if IsLate(w, h.ctx.watermark, h.lateness) {
			h.set.Remove(w)
			continue
		}
		skipped = false
		h.contents[state] = append(h.contents[state], ts)
		h.act(w, state, h.trigger.OnElement(h.ctx, ts, w))
		if c := CleanupTime(w, h.lateness); c != NoCleanup {
			h.ctx.RegisterEventTimeTimer(w, c)
		}
	}
	if skipped && IsElementLate(ts, h.ctx.watermark, h.lateness) {
		h.late = append(h.late, ts)
	}
}

// merge is the operator's MergeFunc: move contents, trigger state and
// cleanup timers to the result.
func (h *harness) merge(result Window, merged []Window, stateResult Window, stateMerged []Window) error {
	for _, s := range stateMerged {
		h.contents[stateResult] = append(h.contents[stateResult], h.contents[s]...)
		delete(h.contents, s)
	}
	h.trigger.OnMerge(h.ctx, result, merged)
	for _, m := range merged {
		h.trigger.Clear(h.ctx, m)
		h.ctx.DeleteEventTimeTimer(m, CleanupTime(m, h.lateness))
	}
	return nil
}

// act carries out a trigger's decision for w.
func (h *harness) act(w, state Window, r TriggerResult) {
	if r.IsFire() && len(h.contents[state]) > 0 {
		if h.evictor != nil {
			h.contents[state] = evictTimestamps(h.evictor, h.contents[state], w)
		}
		h.fired = append(h.fired, fmt.Sprint(w, ":", h.contents[state]))
	}
	if r.IsPurge() {
		delete(h.contents, state)
	}
}

// advance sets the watermark and fires the event timers it passes.
func (h *harness) advance(wm int64) {
	h.ctx.watermark = wm
	for tm, ok := h.ctx.nextTimer(wm); ok; tm, ok = h.ctx.nextTimer(wm) {
		state := tm.w
		if h.assigner.Merging() {
			var active bool
			if state, active = h.set.StateWindow(tm.w); !active {
				continue // merged away
			}
		}
		h.act(tm.w, state, h.trigger.OnEventTime(h.ctx, tm.time, tm.w))
		if tm.time == CleanupTime(tm.w, h.lateness) {
			delete(h.contents, state)
			h.trigger.Clear(h.ctx, tm.w)
			h.set.Remove(tm.w)
		}
	}
}

func (h *harness) wantFired(want ...string) {
	h.t.Helper()
	if !slices.Equal(h.fired, want) {
		h.t.Fatalf("fired %q, want %q", h.fired, want)
	}
	h.fired = nil
}

func (h *harness) wantLate(want ...int64) {
	h.t.Helper()
	if !slices.Equal(h.late, want) {
		h.t.Fatalf("late %v, want %v", h.late, want)
	}
}

// evictTimestamps runs e before the window function over records that
// are their own timestamps.
func evictTimestamps(e Evictor, ts []int64, w Window) []int64 {
	elems := make([]TimestampedValue[int64], len(ts))
	for i, t := range ts {
		elems[i] = TimestampedValue[int64]{Value: t, Timestamp: t}
	}
	var kept []int64
	for _, el := range Evict(ByTimestamps[int64](e), elems, w, false) {
		kept = append(kept, el.Value)
	}
	return kept
}
