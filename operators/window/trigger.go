package window

// TriggerResult is a trigger's decision about one window: whether to
// emit its contents now (fire) and whether to drop them (purge). Purging
// drops the contents only; the window itself (its merging-set entry,
// trigger state and cleanup timer) lives on until its cleanup time.
type TriggerResult uint8

// The decisions. Fire and Purge are bits, so FireAndPurge == Fire|Purge.
const (
	Continue     TriggerResult = 0
	Fire         TriggerResult = 1
	Purge        TriggerResult = 2
	FireAndPurge TriggerResult = Fire | Purge
)

// IsFire reports whether r emits the window.
func (r TriggerResult) IsFire() bool { return r&Fire != 0 }

// IsPurge reports whether r drops the window's contents.
func (r TriggerResult) IsPurge() bool { return r&Purge != 0 }

// String returns the constant's name.
func (r TriggerResult) String() string {
	switch r {
	case Continue:
		return "Continue"
	case Fire:
		return "Fire"
	case Purge:
		return "Purge"
	case FireAndPurge:
		return "FireAndPurge"
	}
	return "TriggerResult(invalid)"
}

// Trigger decides when a window emits. Its methods are pure decisions
// apart from what they do through ctx (timers and a per-window counter),
// so a trigger value holds configuration only and may be shared.
//
// The window operator calls a trigger from its subtask's goroutine only,
// for the current key: never concurrently.
type Trigger interface {
	// OnElement is called for each record added to w, with its timestamp.
	OnElement(ctx TriggerContext, ts int64, w Window) TriggerResult
	// OnEventTime is called when an event-time timer registered for w
	// fires at time. It is also called for w's cleanup timer.
	OnEventTime(ctx TriggerContext, time int64, w Window) TriggerResult
	// OnProcessingTime is called when a processing-time timer registered
	// for w fires at time.
	OnProcessingTime(ctx TriggerContext, time int64, w Window) TriggerResult
	// OnMerge is called when the windows merged become w (see MergingSet);
	// it moves their trigger state to w. The operator then calls Clear for
	// each merged window. merged is valid only during the call.
	OnMerge(ctx TriggerContext, w Window, merged []Window)
	// Clear removes all the trigger's state and timers for w; the
	// operator calls it when w is cleaned up or merged away.
	Clear(ctx TriggerContext, w Window)
}

// TriggerContext is what the window operator gives a trigger: its timers
// and per-window state for the current key. Windows name which of the
// key's windows a timer or counter belongs to, so one context serves all
// of them.
type TriggerContext interface {
	Clock
	Timers
	Counters
}

// Clock reads the two times of the subtask.
type Clock interface {
	// CurrentWatermark returns the subtask's event time.
	CurrentWatermark() int64
	// CurrentProcessingTime returns the processing time in epoch ms.
	CurrentProcessingTime() int64
}

// Timers registers and deletes the current key's timers for a window.
// Registering a timer twice keeps one; deleting an absent one does
// nothing.
type Timers interface {
	RegisterEventTimeTimer(w Window, time int64)
	DeleteEventTimeTimer(w Window, time int64)
	RegisterProcessingTimeTimer(w Window, time int64)
	DeleteProcessingTimeTimer(w Window, time int64)
}

// Counters is an int64 of state per window of the current key, for count
// triggers. A window without one reads 0, and setting 0 may delete it.
type Counters interface {
	Count(w Window) int64
	SetCount(w Window, n int64)
}
