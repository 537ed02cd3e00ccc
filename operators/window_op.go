package operators

import (
	"fmt"

	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/persistence"
)

// windowOp is the window operator of one subtask: Flink's WindowOperator
// on the pure parts of package window. Its state lives in a state backend
// keyed by K, with the window as the namespace within the key:
//
//   - "window-contents": map window → Acc, the contents of each state
//     window (a reduction, an accumulator or the list of records);
//   - "window-counts": map window → int64, the count triggers' counters;
//   - "window-sessions": the key's merging set (merging assigners only);
//   - "window-pending": map window → {}, the windows with records not
//     yet emitted, fired at end of input (processing-time assigners, or
//     WithFireAtEndOfInput; see windowSpec.fireAtEnd);
//   - "timers": the key's timers, each for a (window, time, domain).
//
// So everything is snapshotted and rescaled by key group. It is driven
// from its subtask's goroutine only.
type windowOp[T any, K comparable, Acc, Out any] struct {
	spec     windowSpec[T]
	fn       windowFn[T, K, Acc, Out]
	key      func(T) K
	tc       *TaskContext
	out      stamped[Out]
	late     Collector[T] // nil: late records are dropped and counted
	dropped  int64
	b        persistence.Backend[K]
	contents *persistence.MapState[window.Window, Acc] // see cells
	cells    windowContents[K, Acc]
	counts   *persistence.MapState[window.Window, int64]
	sessions *persistence.ValueState[[]window.Pair]
	pending  *persistence.MapState[window.Window, struct{}]
	timers   *nsTimers[K, window.Window]
	set      *window.MergingSet // the current key's (loadSet)
	// heap is cells with the heap backend and a merging assigner: it
	// keeps the keys' merging sets too (see loadSet); emptySet is what
	// loadSet gives a key without one
	heap     *heapContents[K, Acc]
	emptySet *window.MergingSet
	merge    window.MergeFunc
	cur      K        // the current key, also the backend's
	user     userFunc // ProcessWindowRich's function, closed with the operator
	ctx      WindowContext[K]
	buf      []window.Window
	// firedUpTo is an event time such that no window ending after it
	// has fired: the highest watermark seen, and after a restore at
	// least the end of every restored window that has fired (the
	// restored operator's watermark starts again at −∞). See timersSet.
	firedUpTo int64
	// hold: timers fired by a watermark or the clock that wait for
	// credit (see outputHolder)
	hold firingHold
	// merged: the record being added merged session windows (set by
	// mergeWindows), so the trigger has set the merged window's timer.
	merged bool
	// firing is the timer being fired (onTimer), which the queue has
	// already removed: deleting it again (as a trigger's Clear does when
	// the window is cleared at its end) is a no-op, and skipped.
	firing struct {
		on  bool
		key K
		w   window.Window
		t   int64
		d   TimeDomain
	}
}

// stamped gives every record a window function emits the window's last
// timestamp, as Flink's window operator does.
type stamped[Out any] struct {
	out Collector[Out]
	ts  int64
}

func (s *stamped[Out]) Collect(v Out, _ int64) { s.out.Collect(v, s.ts) }

func newWindowOp[T any, K comparable, Acc, Out any](tc *TaskContext, key func(T) K, spec windowSpec[T], fn windowFn[T, K, Acc, Out],
	contents Codec[Acc], out Collector[Out]) (*windowOp[T, K, Acc, Out], error) {
	o := &windowOp[T, K, Acc, Out]{spec: spec, fn: fn, key: key, tc: tc, out: stamped[Out]{out: out}, set: window.NewMergingSet(),
		emptySet: window.NewMergingSet(), firedUpTo: MinWatermark}
	if spec.hasLate {
		if c, ok := sideCollector(tc, spec.late); ok {
			o.late = c
		}
	}
	if err := o.openState(tc, contents); err != nil {
		if o.b != nil {
			_ = closeKeyed(o.b)
		}
		return nil, err
	}
	o.ctx = WindowContext[K]{wm: &o.timers.wm, Task: tc, global: stateScope[K]{b: o.b}}
	o.ctx.perWindow = stateScope[K]{b: o.b, window: &windowScope{w: &o.ctx.w, merging: spec.merging,
		clears: map[string]func(window.Window){}, entries: map[string]func() int{}}}
	o.merge = o.mergeWindows
	return o, nil
}

// Collect assigns a record to its windows, adds it to each that is not
// late and acts on the trigger's decisions; a record too late for all of
// its windows goes to the late output.
func (o *windowOp[T, K, Acc, Out]) Collect(v T, ts int64) {
	if o.tc.Failed() {
		return
	}
	at := ts
	if !o.spec.eventTime {
		at = o.tc.Now().UnixMilli()
	} else if ts == NoTimestamp {
		o.tc.Fail(fmt.Errorf("%w: a record without a timestamp in event-time windows (assign timestamps first)", ErrWindow))
		return
	}
	o.setKey(o.key(v))
	ws, err := o.spec.assigner.AssignElement(v, at, o.buf[:0])
	o.buf = ws
	if err != nil {
		o.tc.Fail(err)
		return
	}
	var added bool
	if o.spec.merging {
		added, err = o.addMerging(v, ts, ws)
	} else {
		added = o.addAll(v, ts, ws)
	}
	if err != nil {
		o.tc.Fail(err)
		return
	}
	if !added && o.spec.eventTime && window.IsElementLate(ts, o.timers.wm, o.spec.lateness) {
		o.lateRecord(v, ts)
	}
}

func (o *windowOp[T, K, Acc, Out]) setKey(k K) {
	o.cur = k
	o.b.SetCurrentKey(k)
	o.cells.setKey(k)
}

// addAll adds a record to its windows that are not late, and reports
// whether there was one.
func (o *windowOp[T, K, Acc, Out]) addAll(v T, ts int64, ws []window.Window) bool {
	added := false
	for _, w := range ws {
		if o.isLate(w) {
			continue
		}
		added = true
		o.addTo(w, w, v, ts)
	}
	return added
}

// addMerging adds a record to the key's merging set, merging windows, and
// to each resulting window that is not late.
func (o *windowOp[T, K, Acc, Out]) addMerging(v T, ts int64, ws []window.Window) (bool, error) {
	if err := o.loadSet(); err != nil {
		return false, err
	}
	added := false
	for _, w := range ws {
		o.merged = false
		actual, err := o.set.Add(w, o.merge)
		if err != nil {
			return added, err
		}
		if o.isLate(actual) {
			o.set.Remove(actual)
			continue
		}
		added = true
		state, _ := o.set.StateWindow(actual)
		o.addTo(actual, state, v, ts)
	}
	o.storeSet()
	return added, nil
}

// addTo adds a record to window w, whose contents are under state.
func (o *windowOp[T, K, Acc, Out]) addTo(w, state window.Window, v T, ts int64) {
	acc, ok := o.cells.acc(state)
	*acc = o.fn.add(*acc, ok, v, ts)
	o.cells.done(state)
	if o.spec.fireAtEnd {
		o.pending.Put(state, struct{}{})
	}
	switch {
	case ok && o.timersSet(w):
		return
	case ok && o.mergedTimerSet(w):
		o.registerMergedCleanup(w)
		return
	case !ok && o.newWindowTimer(w):
		return
	}
	o.act(w, state, o.spec.trigger.OnElement(o, ts, w))
	if !o.triggerSetsCleanup(w) {
		o.registerCleanup(w)
	}
}

// newWindowTimer sets the one timer of a window that has just got its
// first record, when the default event-time trigger's OnElement would
// set it and it is also the cleanup timer (no allowed lateness), and
// reports whether it did. The window had no contents, so it has no
// timer: contents and that timer come together, and go together when
// it fires (the trigger never purges; windows that evict or merge are
// left to the trigger). So the timer is registered without looking for
// it first. A window whose end the watermark has passed is left to the
// trigger, which fires it.
func (o *windowOp[T, K, Acc, Out]) newWindowTimer(w window.Window) bool {
	end := w.MaxTimestamp()
	if !o.fastPath() || o.spec.merging || o.fn.empty != nil || o.cleanupTime(w) != end || end <= o.timers.wm {
		return false
	}
	o.timers.registerNew(o.cur, w, EventTime, end)
	return true
}

// triggerSetsCleanup reports whether w's cleanup timer is the default
// event-time trigger's end timer, as it is with no allowed lateness: the
// trigger's OnElement has then just set it (the window, not late, ends
// after the watermark), and its Clear deletes it.
func (o *windowOp[T, K, Acc, Out]) triggerSetsCleanup(w window.Window) bool {
	return o.fastPath() && o.cleanupTime(w) == w.MaxTimestamp()
}

// timersSet reports whether adding to a window that already had contents
// can skip the trigger and the cleanup timer: with the default event-time
// trigger, both timers were set when the window got its bounds (by its
// first record, or by the merge that made a session window; setting them
// again is a no-op), and the trigger only continues while its end timer
// has not fired. This saves two timer lookups per record and window on
// the hot path; a session window sets its timers once per merge, not per
// record.
//
// The end timer has not fired while no watermark has reached the
// window's end; but a restored operator's watermark starts at −∞ while
// windows that fired before the snapshot keep their contents until their
// cleanup time. So the test is against firedUpTo, which covers them, not
// against the watermark: a late record for such a window must reach the
// trigger, which registers the end timer again (review finding 3).
func (o *windowOp[T, K, Acc, Out]) timersSet(w window.Window) bool {
	return o.fastPath() && !o.merged && o.firedUpTo < w.MaxTimestamp()
}

// mergedTimerSet reports whether the record just merged session windows
// into w and the default trigger's OnMerge has set w's end timer (it
// does while the watermark is before w's end, as it is below firedUpTo):
// the trigger's OnElement would set it again, and only w's cleanup timer
// is new.
func (o *windowOp[T, K, Acc, Out]) mergedTimerSet(w window.Window) bool {
	return o.fastPath() && o.merged && o.firedUpTo < w.MaxTimestamp()
}

// registerMergedCleanup sets the cleanup timer of the merged window w,
// unless it is its end timer, which OnMerge has set (no lateness).
func (o *windowOp[T, K, Acc, Out]) registerMergedCleanup(w window.Window) {
	if o.cleanupTime(w) != w.MaxTimestamp() {
		o.registerCleanup(w)
	}
}

// fastPath reports whether the operator may skip the trigger for
// windows with contents (see timersSet).
func (o *windowOp[T, K, Acc, Out]) fastPath() bool {
	_, def := o.spec.trigger.(window.EventTimeTrigger)
	return def && o.spec.eventTime
}

// act carries out a trigger's decision for window w.
func (o *windowOp[T, K, Acc, Out]) act(w, state window.Window, r window.TriggerResult) {
	if r.IsFire() {
		o.emit(w, state)
	}
	if r.IsPurge() {
		o.cells.remove(state)
	}
}

// emit runs the window function over w's contents, if any.
func (o *windowOp[T, K, Acc, Out]) emit(w, state window.Window) {
	acc, ok := o.cells.get(state)
	if !ok {
		return
	}
	o.ctx.key, o.ctx.w = o.cur, w
	o.out.ts = w.MaxTimestamp()
	kept, err := o.fn.emit(&o.ctx, acc, &o.out)
	if err != nil {
		o.tc.Fail(err)
		return
	}
	if o.fn.empty != nil && o.fn.empty(kept) {
		o.cells.remove(state) // all evicted
	} else {
		o.cells.put(state, kept)
	}
	if o.spec.fireAtEnd {
		o.pending.Remove(state)
	}
}

func (o *windowOp[T, K, Acc, Out]) lateRecord(v T, ts int64) {
	if o.late == nil {
		o.dropped++
		return
	}
	o.late.Collect(v, ts)
}

// LateRecordsDropped returns how many late records had nowhere to go.
func (o *windowOp[T, K, Acc, Out]) LateRecordsDropped() int64 { return o.dropped }
