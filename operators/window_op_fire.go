package operators

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/troupe-dev/troupe/operators/window"
)

// ProcessWatermark fires the event-time timers the watermark has passed
// (windows and cleanups). The final watermark also fires the windows
// with records not yet emitted when the spec says so (processing-time
// windows, or WithFireAtEndOfInput). It stops between two firings while
// the chain's output waits for credit and holds the watermark back
// until the rest have fired (see firingHold).
func (o *windowOp[T, K, Acc, Out]) ProcessWatermark(wm int64) (int64, bool) {
	o.timers.wm = wm
	o.firedUpTo = max(o.firedUpTo, wm)
	return o.hold.watermark(wm, o.fireUpToWatermark)
}

// fireUpToWatermark fires what the watermark has passed; it reports
// whether all has fired.
func (o *windowOp[T, K, Acc, Out]) fireUpToWatermark() bool {
	wm := o.timers.wm
	if !o.timers.fireUpTo(o.timers.event, wm, func(k nsKey[K, window.Window], ts int64) { o.onTimer(k, ts, EventTime) }) {
		return false
	}
	return wm != MaxWatermark || !o.spec.fireAtEnd || o.tc.Failed() || o.fireAll()
}

// NextProcessingTime reports when the earliest processing-time timer is
// due: past its time (see nsTimers.nextProcessing); never while timers
// the clock passed wait for credit (Resume fires them).
func (o *windowOp[T, K, Acc, Out]) NextProcessingTime() (time.Time, bool) {
	if o.hold.proc {
		return time.Time{}, false
	}
	return o.timers.nextProcessing()
}

// OnProcessingTime fires the processing-time timers the clock has passed:
// a window [start, end) fires at end, once its last millisecond is over.
func (o *windowOp[T, K, Acc, Out]) OnProcessingTime(now time.Time) {
	o.hold.clock(now, o.fireProcessing)
}

func (o *windowOp[T, K, Acc, Out]) fireProcessing(now time.Time) bool {
	return o.timers.popProcessing(now, func(k nsKey[K, window.Window], ts int64) {
		o.onTimer(k, ts, ProcessingTime)
	})
}

// holdingOutput and resumeOutput implement outputHolder.
func (o *windowOp[T, K, Acc, Out]) holdingOutput() bool { return o.hold.holding() && !o.tc.Failed() }

func (o *windowOp[T, K, Acc, Out]) resumeOutput() bool {
	return o.hold.resume(o.tc, o.fireProcessing, o.fireUpToWatermark)
}

// onTimer asks the trigger about a timer of window k.ns, acts on its
// decision, and clears the window's state if it is its cleanup time.
func (o *windowOp[T, K, Acc, Out]) onTimer(k nsKey[K, window.Window], ts int64, d TimeDomain) {
	if o.tc.Failed() {
		return
	}
	o.setKey(k.key)
	o.timers.fired(k.ns, d, ts)
	f := &o.firing
	f.on, f.key, f.w, f.t, f.d = true, k.key, k.ns, ts, d
	defer func() { f.on = false }()
	w, state := k.ns, k.ns
	if o.spec.merging {
		if err := o.loadSet(); err != nil {
			o.tc.Fail(err)
			return
		}
		var ok bool
		if state, ok = o.set.StateWindow(w); !ok {
			return // the window was merged away or cleaned up
		}
	}
	var r window.TriggerResult
	if d == EventTime {
		r = o.spec.trigger.OnEventTime(o, ts, w)
	} else {
		r = o.spec.trigger.OnProcessingTime(o, ts, w)
	}
	o.act(w, state, r)
	if (d == EventTime) == o.spec.eventTime && ts == o.cleanupTime(w) {
		o.firePending(w, state)
		o.clearWindow(w, state)
	}
	if o.spec.merging {
		o.storeSet()
	}
}

// firePending fires window w before the final watermark's cleanup timer
// clears it, if the spec fires windows with records not yet emitted at
// the end of input (WithFireAtEndOfInput) and w has some: an event-time
// window whose trigger never fired for them (a count trigger) would
// otherwise be cleared by its cleanup timer, which the final watermark
// fires before fireAll runs.
func (o *windowOp[T, K, Acc, Out]) firePending(w, state window.Window) {
	if o.spec.fireAtEnd && o.timers.wm == MaxWatermark && o.pending.Contains(state) {
		o.emit(w, state)
	}
}

// cleanupTime returns when w's state goes: its last timestamp plus the
// allowed lateness, saturated; window.NoCleanup for never.
func (o *windowOp[T, K, Acc, Out]) cleanupTime(w window.Window) int64 {
	return window.CleanupTime(w, o.spec.lateness)
}

// isLate reports whether event-time window w is past its cleanup time.
func (o *windowOp[T, K, Acc, Out]) isLate(w window.Window) bool {
	return o.spec.eventTime && window.IsLate(w, o.timers.wm, o.spec.lateness)
}

// cleanupDomain is the clock of the assigner's windows.
func (o *windowOp[T, K, Acc, Out]) cleanupDomain() TimeDomain {
	if o.spec.eventTime {
		return EventTime
	}
	return ProcessingTime
}

// registerCleanup sets the timer that clears w's state, unless w has
// none (it reaches the end of time, as the global window does).
func (o *windowOp[T, K, Acc, Out]) registerCleanup(w window.Window) {
	if c := o.cleanupTime(w); c != window.NoCleanup {
		o.timers.register(o.cur, w, o.cleanupDomain(), c)
	}
}

func (o *windowOp[T, K, Acc, Out]) deleteCleanup(w window.Window) {
	if c := o.cleanupTime(w); c != window.NoCleanup {
		o.deleteTimer(w, o.cleanupDomain(), c)
	}
}

// clearWindow drops everything of window w of the current key: contents,
// the function's per-window state, trigger state and timers, and its
// place in the merging set.
func (o *windowOp[T, K, Acc, Out]) clearWindow(w, state window.Window) {
	o.cells.remove(state)
	if err := o.ctx.perWindow.clearWindow(state); err != nil {
		o.tc.Fail(fmt.Errorf("clear the per-window state of window %v: %w", state, err))
	}
	o.pending.Remove(state)
	o.spec.trigger.Clear(o, w)
	o.deleteCleanup(w)
	if o.spec.merging {
		o.set.Remove(w)
	}
}

// fireAll fires, key by key in the order of their encodings, every window
// with records not yet emitted, then clears it: the end of input for
// processing-time windows (and any, with WithFireAtEndOfInput).
//
// It stops between two windows while the chain's output waits for
// credit, and reports whether all have fired: what it fired is cleared,
// so calling it again goes on with the rest.
func (o *windowOp[T, K, Acc, Out]) fireAll() bool {
	for _, k := range sortedKeys(o.b.Keys("window-pending")) {
		o.setKey(k)
		if !o.spec.merging {
			for _, w := range sortedWindows(o.pending.All()) {
				if o.tc.outputWaits() {
					return false
				}
				o.emit(w, w)
				o.clearWindow(w, w)
			}
			continue
		}
		if err := o.loadSet(); err != nil {
			o.tc.Fail(err)
			return true
		}
		done := o.fireAllMerged()
		o.storeSet()
		if !done {
			return false
		}
	}
	return true
}

// fireAllMerged is fireAll for the current key's merged windows.
func (o *windowOp[T, K, Acc, Out]) fireAllMerged() bool {
	for _, p := range o.set.Snapshot() {
		if o.pending.Contains(p.State) {
			if o.tc.outputWaits() {
				return false
			}
			o.emit(p.Window, p.State)
			o.clearWindow(p.Window, p.State)
		}
	}
	return true
}

// sortedKeys orders keys by their JSON encodings, so that end of input
// emits in the same order in every run.
func sortedKeys[K comparable](keys []K) []K {
	type enc struct {
		k K
		s string
	}
	es := make([]enc, len(keys))
	for i, k := range keys {
		b, _ := JSONCodec[K]{}.Append(nil, k)
		es[i] = enc{k, string(b)}
	}
	slices.SortFunc(es, func(a, b enc) int { return cmp.Compare(a.s, b.s) })
	for i, e := range es {
		keys[i] = e.k
	}
	return keys
}

// sortedWindows collects windows sorted by start, then end.
func sortedWindows[V any](all func(func(window.Window, V) bool)) []window.Window {
	var ws []window.Window
	for w := range all {
		ws = append(ws, w)
	}
	slices.SortFunc(ws, func(a, b window.Window) int {
		return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.End, b.End))
	})
	return ws
}
