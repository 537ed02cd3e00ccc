package window

import "fmt"

// EventTimeTrigger fires a window once the watermark reaches its last
// timestamp, the default of event-time windows. A record that arrives
// after that but within the allowed lateness (the operator has dropped
// records past it) fires the window again at once, so a late record is
// never held back.
type EventTimeTrigger struct{}

// OnElement fires at once if the watermark has passed w, else registers
// a timer at w's last timestamp.
func (EventTimeTrigger) OnElement(ctx TriggerContext, _ int64, w Window) TriggerResult {
	if w.MaxTimestamp() <= ctx.CurrentWatermark() {
		return Fire
	}
	ctx.RegisterEventTimeTimer(w, w.MaxTimestamp())
	return Continue
}

// OnEventTime fires for the timer at w's last timestamp only: the
// cleanup timer, later by the lateness, must not fire the window again.
func (EventTimeTrigger) OnEventTime(_ TriggerContext, time int64, w Window) TriggerResult {
	if time == w.MaxTimestamp() {
		return Fire
	}
	return Continue
}

// OnProcessingTime never fires.
func (EventTimeTrigger) OnProcessingTime(TriggerContext, int64, Window) TriggerResult {
	return Continue
}

// OnMerge registers the merged window's timer, unless the watermark has
// already passed it: the next record fires it then (the operator refuses
// merges whose result is past lateness).
func (EventTimeTrigger) OnMerge(ctx TriggerContext, w Window, _ []Window) {
	if w.MaxTimestamp() > ctx.CurrentWatermark() {
		ctx.RegisterEventTimeTimer(w, w.MaxTimestamp())
	}
}

// Clear deletes w's timer.
func (EventTimeTrigger) Clear(ctx TriggerContext, w Window) {
	ctx.DeleteEventTimeTimer(w, w.MaxTimestamp())
}

// ProcessingTimeTrigger fires a window once processing time reaches its
// last timestamp, the default of processing-time windows.
type ProcessingTimeTrigger struct{}

// OnElement registers a timer at w's last timestamp.
func (ProcessingTimeTrigger) OnElement(ctx TriggerContext, _ int64, w Window) TriggerResult {
	ctx.RegisterProcessingTimeTimer(w, w.MaxTimestamp())
	return Continue
}

// OnEventTime never fires.
func (ProcessingTimeTrigger) OnEventTime(TriggerContext, int64, Window) TriggerResult {
	return Continue
}

// OnProcessingTime fires: the only timer registered is w's.
func (ProcessingTimeTrigger) OnProcessingTime(TriggerContext, int64, Window) TriggerResult {
	return Fire
}

// OnMerge registers the merged window's timer unless its time has passed.
func (ProcessingTimeTrigger) OnMerge(ctx TriggerContext, w Window, _ []Window) {
	if w.MaxTimestamp() > ctx.CurrentProcessingTime() {
		ctx.RegisterProcessingTimeTimer(w, w.MaxTimestamp())
	}
}

// Clear deletes w's timer.
func (ProcessingTimeTrigger) Clear(ctx TriggerContext, w Window) {
	ctx.DeleteProcessingTimeTimer(w, w.MaxTimestamp())
}

// NeverTrigger never fires, the default of Global: its windows emit
// nothing, as Flink's GlobalWindows.create(), unless the operator is told
// to fire them at the end of input (operators.WithFireAtEndOfInput).
type NeverTrigger struct{}

// OnElement returns Continue.
func (NeverTrigger) OnElement(TriggerContext, int64, Window) TriggerResult { return Continue }

// OnEventTime returns Continue.
func (NeverTrigger) OnEventTime(TriggerContext, int64, Window) TriggerResult { return Continue }

// OnProcessingTime returns Continue.
func (NeverTrigger) OnProcessingTime(TriggerContext, int64, Window) TriggerResult { return Continue }

// OnMerge does nothing.
func (NeverTrigger) OnMerge(TriggerContext, Window, []Window) {}

// Clear does nothing.
func (NeverTrigger) Clear(TriggerContext, Window) {}

// EndOfStreamTrigger fires a window once the watermark reaches its last
// timestamp; for GlobalWindow, which ends at the end of time, that is
// the final watermark at the end of input. It is the default of
// GlobalWithEndOfStreamTrigger, as Flink's
// GlobalWindows.EndOfStreamTrigger.
type EndOfStreamTrigger struct{}

// OnElement registers a timer at w's last timestamp.
func (EndOfStreamTrigger) OnElement(ctx TriggerContext, _ int64, w Window) TriggerResult {
	ctx.RegisterEventTimeTimer(w, w.MaxTimestamp())
	return Continue
}

// OnEventTime fires for the timer at w's last timestamp.
func (EndOfStreamTrigger) OnEventTime(_ TriggerContext, time int64, w Window) TriggerResult {
	if time == w.MaxTimestamp() {
		return Fire
	}
	return Continue
}

// OnProcessingTime never fires.
func (EndOfStreamTrigger) OnProcessingTime(TriggerContext, int64, Window) TriggerResult {
	return Continue
}

// OnMerge registers the merged window's timer.
func (EndOfStreamTrigger) OnMerge(ctx TriggerContext, w Window, _ []Window) {
	ctx.RegisterEventTimeTimer(w, w.MaxTimestamp())
}

// Clear deletes w's timer.
func (EndOfStreamTrigger) Clear(ctx TriggerContext, w Window) {
	ctx.DeleteEventTimeTimer(w, w.MaxTimestamp())
}

// CountTrigger fires a window every n records, counting in the context's
// per-window counter.
type CountTrigger struct{ n int64 }

// NewCountTrigger returns a trigger firing every n records. An n below 1
// is reported by Validate, and by operators.Window when the pipeline is
// built.
func NewCountTrigger(n int64) CountTrigger { return CountTrigger{n: n} }

// Validate returns an error wrapping ErrInvalidTrigger unless n ≥ 1.
func (t CountTrigger) Validate() error {
	if t.n < 1 {
		return fmt.Errorf("%w: count %d is below 1", ErrInvalidTrigger, t.n)
	}
	return nil
}

// OnElement counts the record and fires, restarting the count, on the
// n-th.
func (t CountTrigger) OnElement(ctx TriggerContext, _ int64, w Window) TriggerResult {
	c := ctx.Count(w) + 1
	if c >= t.n {
		ctx.SetCount(w, 0)
		return Fire
	}
	ctx.SetCount(w, c)
	return Continue
}

// OnEventTime returns Continue.
func (CountTrigger) OnEventTime(TriggerContext, int64, Window) TriggerResult { return Continue }

// OnProcessingTime returns Continue.
func (CountTrigger) OnProcessingTime(TriggerContext, int64, Window) TriggerResult { return Continue }

// OnMerge adds the counts of the merged windows to w's. It does not fire
// even if the sum reaches n: the next record does, as in Flink.
func (CountTrigger) OnMerge(ctx TriggerContext, w Window, merged []Window) {
	sum := ctx.Count(w)
	for _, m := range merged {
		if m != w {
			sum += ctx.Count(m)
		}
	}
	ctx.SetCount(w, sum)
}

// Clear deletes w's count.
func (CountTrigger) Clear(ctx TriggerContext, w Window) { ctx.SetCount(w, 0) }

// PurgingTrigger makes every firing of the trigger it wraps also purge
// the window, so each firing emits only what came since the last.
type PurgingTrigger struct{ inner Trigger }

// Purging wraps t.
func Purging(t Trigger) PurgingTrigger { return PurgingTrigger{inner: t} }

// Validate returns what the wrapped trigger's Validate returns, or an
// error wrapping ErrInvalidTrigger if there is none (Purging(nil), or a
// zero PurgingTrigger).
func (p PurgingTrigger) Validate() error {
	if p.inner == nil {
		return fmt.Errorf("%w: a PurgingTrigger of no trigger; make one with Purging(t)", ErrInvalidTrigger)
	}
	return validate(p.inner)
}

// purging adds Purge to a firing.
func purging(r TriggerResult) TriggerResult {
	if r.IsFire() {
		return FireAndPurge
	}
	return r
}

// OnElement asks the wrapped trigger and purges when it fires.
func (p PurgingTrigger) OnElement(ctx TriggerContext, ts int64, w Window) TriggerResult {
	return purging(p.inner.OnElement(ctx, ts, w))
}

// OnEventTime asks the wrapped trigger and purges when it fires.
func (p PurgingTrigger) OnEventTime(ctx TriggerContext, time int64, w Window) TriggerResult {
	return purging(p.inner.OnEventTime(ctx, time, w))
}

// OnProcessingTime asks the wrapped trigger and purges when it fires.
func (p PurgingTrigger) OnProcessingTime(ctx TriggerContext, time int64, w Window) TriggerResult {
	return purging(p.inner.OnProcessingTime(ctx, time, w))
}

// OnMerge delegates.
func (p PurgingTrigger) OnMerge(ctx TriggerContext, w Window, merged []Window) {
	p.inner.OnMerge(ctx, w, merged)
}

// Clear delegates.
func (p PurgingTrigger) Clear(ctx TriggerContext, w Window) { p.inner.Clear(ctx, w) }

var (
	_ Trigger = EventTimeTrigger{}
	_ Trigger = ProcessingTimeTrigger{}
	_ Trigger = NeverTrigger{}
	_ Trigger = EndOfStreamTrigger{}
	_ Trigger = CountTrigger{}
	_ Trigger = PurgingTrigger{}
)
