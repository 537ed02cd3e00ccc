package operators

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/persistence"
)

// openState registers the operator's keyed state and timers (see
// windowOp for the layout), the windows' contents encoded with contents.
func (o *windowOp[T, K, Acc, Out]) openState(tc *TaskContext, contents Codec[Acc]) error {
	b, err := newKeyedBackend[K](tc)
	if err != nil {
		return err
	}
	o.b = b
	wc := windowCodec{}
	if o.contents, err = persistence.Map(b, persistence.MapDescriptor[window.Window, Acc]{Name: "window-contents",
		KeyCodec: wc, ValueCodec: contents}); err != nil {
		return err
	}
	o.cells = newWindowContents(b, o.contents)
	if o.counts, err = persistence.Map(b, persistence.MapDescriptor[window.Window, int64]{Name: "window-counts",
		KeyCodec: wc, ValueCodec: JSONCodec[int64]{}}); err != nil {
		return err
	}
	if o.pending, err = persistence.Map(b, persistence.MapDescriptor[window.Window, struct{}]{Name: "window-pending",
		KeyCodec: wc, ValueCodec: emptyCodec{}}); err != nil {
		return err
	}
	if o.sessions, err = persistence.Value(b, persistence.ValueDescriptor[[]window.Pair]{Name: "window-sessions",
		Codec: JSONCodec[[]window.Pair]{}}); err != nil {
		return err
	}
	if hc, ok := o.cells.(*heapContents[K, Acc]); ok && o.spec.merging {
		o.heap = hc
	}
	kind := byTime
	if o.spec.merging {
		kind = byKey // a session's end timer moves with each record that extends it
	}
	o.timers, err = newNSTimers[K, window.Window](tc, b, wc, kind)
	return err
}

// loadSet reads the current key's merging set: from the operator's map
// of sets with the heap backend (an empty set, not yet in the map, for a
// key with none), from the key's state with bbolt. With the heap
// backend the sets are written into the "window-sessions" state only for
// a snapshot (see windowContents): loading and storing a set, which is
// copied each way, cost about a sixth of a session query's time.
func (o *windowOp[T, K, Acc, Out]) loadSet() error {
	if o.heap != nil {
		if o.set = o.heap.session(); o.set == nil {
			o.set = o.emptySet
		}
		return nil
	}
	pairs, _ := o.sessions.Value()
	if err := o.set.Restore(pairs); err != nil {
		return fmt.Errorf("window sessions of key %v: %w", o.cur, err)
	}
	return nil
}

// storeSet writes the current key's merging set back.
func (o *windowOp[T, K, Acc, Out]) storeSet() {
	if o.heap != nil {
		o.keepSet()
		return
	}
	if o.set.Len() == 0 {
		o.sessions.Clear()
		return
	}
	o.sessions.Update(o.set.Snapshot())
}

// keepSet keeps the current key's set with its contents if it has
// windows, and takes it away if it has none.
func (o *windowOp[T, K, Acc, Out]) keepSet() {
	switch {
	case o.set.Len() == 0 && o.set != o.emptySet:
		o.heap.keepSession(o.set)
		o.emptySet = o.set // empty: reused for the next key without one
	case o.set.Len() > 0 && o.set == o.emptySet:
		o.heap.keepSession(o.set)
		o.emptySet = window.NewMergingSet()
	}
}

// sessionKeys returns the keys with sessions.
func (o *windowOp[T, K, Acc, Out]) sessionKeys() []K {
	if o.heap == nil {
		return o.b.Keys("window-sessions")
	}
	return o.heap.sessionKeys()
}

// setsToState writes the in-memory sets into their state for a
// snapshot and returns the function that removes them again.
func (o *windowOp[T, K, Acc, Out]) setsToState() func() {
	if o.heap == nil {
		return func() {}
	}
	cur := o.b.CurrentKey()
	keys := o.heap.sessionKeys()
	for _, k := range keys {
		o.b.SetCurrentKey(k)
		o.sessions.Update(o.heap.m[k].set.Snapshot())
	}
	o.b.SetCurrentKey(cur)
	return func() {
		for _, k := range keys {
			o.b.SetCurrentKey(k)
			o.sessions.Clear()
		}
		o.b.SetCurrentKey(cur)
	}
}

// setsFromState moves restored sets out of their state into memory.
func (o *windowOp[T, K, Acc, Out]) setsFromState() error {
	if o.heap == nil {
		return nil
	}
	cur := o.b.CurrentKey()
	defer o.setKey(cur)
	for _, k := range o.b.Keys("window-sessions") {
		o.setKey(k)
		pairs, _ := o.sessions.Value()
		set := window.NewMergingSet()
		if err := set.Restore(pairs); err != nil {
			return fmt.Errorf("window sessions of key %v: %w", k, err)
		}
		o.heap.keepSession(set)
		o.sessions.Clear()
	}
	return nil
}

// mergeWindows is the MergeFunc of the merging set: it merges the
// contents of the state windows merged away into stateResult, then the
// trigger state, and drops the merged windows' cleanup timers.
func (o *windowOp[T, K, Acc, Out]) mergeWindows(result window.Window, merged []window.Window, stateResult window.Window, stateMerged []window.Window) error {
	for _, s := range stateMerged {
		if acc, ok := o.cells.get(s); ok {
			if into, ok := o.cells.get(stateResult); ok {
				acc = o.fn.merge(into, acc)
			}
			o.cells.put(stateResult, acc)
			o.cells.remove(s)
		}
		if o.pending.Contains(s) {
			o.pending.Put(stateResult, struct{}{})
			o.pending.Remove(s)
		}
	}
	o.spec.trigger.OnMerge(o, result, merged)
	for _, m := range merged {
		if m != result {
			o.spec.trigger.Clear(o, m)
			if !o.triggerSetsCleanup(m) { // else Clear has just deleted it
				o.deleteCleanup(m)
			}
		}
	}
	o.merged = true
	return nil
}

// The trigger context (window.TriggerContext) of the current key.

// CurrentWatermark returns the operator's input watermark.
func (o *windowOp[T, K, Acc, Out]) CurrentWatermark() int64 { return o.timers.wm }

// CurrentProcessingTime returns the subtask's clock in epoch ms.
func (o *windowOp[T, K, Acc, Out]) CurrentProcessingTime() int64 { return o.tc.Now().UnixMilli() }

// RegisterEventTimeTimer sets an event-time timer for window w.
func (o *windowOp[T, K, Acc, Out]) RegisterEventTimeTimer(w window.Window, t int64) {
	o.timers.register(o.cur, w, EventTime, t)
}

// DeleteEventTimeTimer removes an event-time timer of window w.
func (o *windowOp[T, K, Acc, Out]) DeleteEventTimeTimer(w window.Window, t int64) {
	o.deleteTimer(w, EventTime, t)
}

// deleteTimer removes a timer of window w of the current key, unless it
// is the one firing (see windowOp.firing).
func (o *windowOp[T, K, Acc, Out]) deleteTimer(w window.Window, d TimeDomain, t int64) {
	if f := &o.firing; f.on && f.t == t && f.d == d && f.w == w && f.key == o.cur {
		return
	}
	o.timers.delete(o.cur, w, d, t)
}

// RegisterProcessingTimeTimer sets a processing-time timer for window w.
func (o *windowOp[T, K, Acc, Out]) RegisterProcessingTimeTimer(w window.Window, t int64) {
	o.timers.register(o.cur, w, ProcessingTime, t)
}

// DeleteProcessingTimeTimer removes a processing-time timer of window w.
func (o *windowOp[T, K, Acc, Out]) DeleteProcessingTimeTimer(w window.Window, t int64) {
	o.deleteTimer(w, ProcessingTime, t)
}

// Count returns window w's trigger counter.
func (o *windowOp[T, K, Acc, Out]) Count(w window.Window) int64 {
	n, _ := o.counts.Get(w)
	return n
}

// SetCount sets window w's trigger counter; 0 deletes it.
func (o *windowOp[T, K, Acc, Out]) SetCount(w window.Window, n int64) {
	if n == 0 {
		o.counts.Remove(w)
		return
	}
	o.counts.Put(w, n)
}

var _ window.TriggerContext = (*windowOp[int, int, int, int])(nil)

// timerRegistrations returns how many times a timer was set, repeats
// included (for tests).
func (o *windowOp[T, K, Acc, Out]) timerRegistrations() int { return o.timers.registers }

// Timers returns how many timers are set, both domains together.
func (o *windowOp[T, K, Acc, Out]) Timers() int { return o.timers.len() }

// StateEntries returns how many (key, window) entries of contents,
// counters, pending marks and the function's per-window states there
// are, plus the keys with sessions and the (state, key) entries of its
// global states.
func (o *windowOp[T, K, Acc, Out]) StateEntries() int {
	n := len(o.sessionKeys()) + o.ctx.perWindow.window.count() + o.globalEntries()
	n += o.cells.entries()
	n += mapEntries(o.b, o.counts, "window-counts")
	return n + mapEntries(o.b, o.pending, "window-pending")
}

// globalEntries counts the (state, key) entries of the function's global
// states: the backend's entries of states named with the user prefix.
func (o *windowOp[T, K, Acc, Out]) globalEntries() int {
	n := 0
	for _, name := range o.ctx.global.names() {
		n += len(o.b.Keys(name))
	}
	return n
}

func mapEntries[K comparable, V any](b persistence.Backend[K], m *persistence.MapState[window.Window, V], name string) int {
	cur, n := b.CurrentKey(), 0
	for _, k := range b.Keys(name) {
		b.SetCurrentKey(k)
		n += m.Len()
	}
	b.SetCurrentKey(cur)
	return n
}

// SnapshotState snapshots the windows' state and timers by key group.
func (o *windowOp[T, K, Acc, Out]) SnapshotState(int64) (*OperatorState, error) {
	defer o.cells.toState()()
	defer o.setsToState()()
	return o.timers.snapshot()
}

// Close closes the function, then releases the state backend.
func (o *windowOp[T, K, Acc, Out]) Close() error {
	return errors.Join(o.user.Close(), closeKeyed(o.b))
}

// RestoreState takes back the windows and timers of this subtask's keys.
func (o *windowOp[T, K, Acc, Out]) RestoreState(parts []*OperatorState) error {
	if err := restoreKeyed(o.b, parts); err != nil {
		return err
	}
	o.cells.fromState()
	if err := o.setsFromState(); err != nil {
		return err
	}
	if err := o.timers.restore(); err != nil {
		return err
	}
	if o.fastPath() {
		o.firedUpTo = o.restoredFiredUpTo()
	}
	return nil
}

// restoredFiredUpTo returns the latest end of a restored window that has
// fired: one with contents whose end-of-window timer is gone. With the
// default trigger that timer is set by the window's first record (or the
// merge that made a session window) and removed only by firing or by
// cleanup, which also drops the contents. Windows ending later have not
// fired, so the fast path stays right for them (see timersSet). This
// reads every restored window once, as the timers' restore does.
func (o *windowOp[T, K, Acc, Out]) restoredFiredUpTo() int64 {
	if o.spec.merging {
		return o.restoredSessionsFiredUpTo()
	}
	upTo := int64(MinWatermark)
	for _, k := range o.cells.keys() {
		o.setKey(k)
		for _, w := range o.cells.windows() {
			if end := w.MaxTimestamp(); end > upTo && !o.timers.has(k, w, EventTime, end) {
				upTo = end
			}
		}
	}
	return upTo
}

// restoredSessionsFiredUpTo is restoredFiredUpTo for session windows,
// whose timers belong to the active window and contents to its state
// window. A merging set that does not load gives MaxWatermark: no fast
// path (the key's next record fails on it anyway).
func (o *windowOp[T, K, Acc, Out]) restoredSessionsFiredUpTo() int64 {
	upTo := int64(MinWatermark)
	for _, k := range o.sessionKeys() {
		o.setKey(k)
		if err := o.loadSet(); err != nil {
			return MaxWatermark
		}
		for _, p := range o.set.Snapshot() {
			end := p.Window.MaxTimestamp()
			if _, has := o.cells.get(p.State); end > upTo && has && !o.timers.has(k, p.Window, EventTime, end) {
				upTo = end
			}
		}
	}
	return upTo
}

// windowCodec encodes a window as "start,end" in snapshots.
type windowCodec struct{}

func (windowCodec) Append(dst []byte, w window.Window) ([]byte, error) {
	dst = strconv.AppendInt(dst, w.Start, 10)
	dst = append(dst, ',')
	return strconv.AppendInt(dst, w.End, 10), nil
}

func (windowCodec) Decode(b []byte) (window.Window, error) {
	start, end, ok := strings.Cut(string(b), ",")
	s, err1 := strconv.ParseInt(start, 10, 64)
	e, err2 := strconv.ParseInt(end, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return window.Window{}, fmt.Errorf("window %q: want start,end", b)
	}
	return window.Window{Start: s, End: e}, nil
}
