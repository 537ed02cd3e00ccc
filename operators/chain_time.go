package operators

import (
	"time"

	"github.com/troupe-dev/troupe/watermark"
)

// WatermarkHandler is implemented by operators that act on event time
// (fire timers and windows). When the operator's input watermark advances
// to wm, ProcessWatermark does what the watermark triggers and returns the
// watermark to pass on downstream, with ok false to hold it back (an
// operator that holds one back emits it later through
// TaskContext.EmitWatermark). Operators without it pass watermarks on.
type WatermarkHandler interface {
	ProcessWatermark(wm int64) (forward int64, ok bool)
}

// StatusHandler is implemented by operators that act on their input's
// idle/active status. ProcessStatus returns false to keep the status from
// the operators after it and from downstream: the timestamp assigner
// does, as it makes its own event time. Operators without it pass
// statuses on.
type StatusHandler interface {
	ProcessStatus(idle bool) (forward bool)
}

// ProcessingTimer is implemented by operators that act at points of
// processing time (periodic watermarks, processing-time timers, idleness).
// The runtime calls OnProcessingTime once the time NextProcessingTime
// reported has come, with the current time.
type ProcessingTimer interface {
	NextProcessingTime() (at time.Time, ok bool)
	OnProcessingTime(now time.Time)
}

// bindEmitters lets the operator at position i emit watermarks and status
// changes to the operators after it.
func (c *Chain) bindEmitters(tc *TaskContext, i int) {
	tc.emitWM = func(wm int64) { c.watermarkFrom(i+1, wm) }
	tc.emitStatus = func(idle bool) { c.statusFrom(i+1, idle) }
	tc.emitEvent = c.Emit
}

// ProcessWatermark handles a watermark that arrived on input channel ch.
// When the subtask's watermark advances — the minimum over its active
// channels or, for a two-input operator, over its active inputs (see
// newInputValve) — the operators see it head to tail, then it goes
// downstream.
func (c *Chain) ProcessWatermark(ch int, wm int64) {
	if wm, ok := c.valve.Watermark(ch, wm); ok {
		c.advance(wm)
	}
}

// SetIdle handles input channel ch announcing that it is idle or active.
func (c *Chain) SetIdle(ch int, idle bool) {
	change := c.valve.SetIdle(ch, idle)
	if change.Advanced {
		c.advance(change.Watermark)
	}
	if change.StatusChanged {
		c.statusFrom(0, change.Status == watermark.Idle)
	}
}

// statusFrom passes a status change through the operators from position
// i on, any of which may keep it, then downstream.
func (c *Chain) statusFrom(i int, idle bool) {
	for ; i < len(c.hooks); i++ {
		if h, ok := c.hooks[i].(StatusHandler); ok && !h.ProcessStatus(idle) {
			return
		}
	}
	c.Emit(StreamStatus{Idle: idle})
}

// Watermark returns the chain's input watermark.
func (c *Chain) Watermark() int64 { return c.wm }

func (c *Chain) advance(wm int64) {
	c.wm = wm
	c.watermarkFrom(0, wm)
}

// watermarkFrom passes wm through the operators from position i on, each
// of which may fire timers, hold it back or change it.
func (c *Chain) watermarkFrom(i int, wm int64) {
	for ; i < len(c.hooks); i++ {
		h, ok := c.hooks[i].(WatermarkHandler)
		if !ok {
			continue
		}
		if wm, ok = h.ProcessWatermark(wm); !ok {
			return
		}
	}
	c.Emit(Watermark{Time: wm})
}

// Emit ships ev on every output channel after the records before it. A
// chain that ends in a sink has no output channels: it drops ev.
func (c *Chain) Emit(ev Event) {
	if wm, ok := ev.(Watermark); ok {
		c.outWM = wm.Time
	}
	if c.router != nil {
		c.router.Emit(ev)
	}
}

// NextProcessingTime returns the earliest time at which an operator or the
// source wants OnProcessingTime.
func (c *Chain) NextProcessingTime() (time.Time, bool) {
	next, found := nextTime(c.Source, time.Time{}, false)
	for _, h := range c.hooks {
		next, found = nextTime(h, next, found)
	}
	return next, found
}

// OnProcessingTime tells the operators that processing time is now; those
// whose time has come act on it.
func (c *Chain) OnProcessingTime(now time.Time) {
	c.brake.refresh() // timers that fire emit (see outputHolder)
	c.fireAt(c.Source, now)
	for _, h := range c.hooks {
		c.fireAt(h, now)
	}
}

// NextPreparingTime is NextProcessingTime over the operators that fetch
// their state (SnapshotPreparer) only. A finished subtask still takes
// checkpoints, and then waits only for such an operator's state, with a
// deadline (an actor's reply timeout); the other operators have ended
// and must not act on time any more.
func (c *Chain) NextPreparingTime() (time.Time, bool) {
	var next time.Time
	found := false
	for _, h := range c.hooks {
		if _, ok := h.(SnapshotPreparer); ok {
			next, found = nextTime(h, next, found)
		}
	}
	return next, found
}

// OnPreparingTime is OnProcessingTime for the operators that fetch their
// state only (see NextPreparingTime).
func (c *Chain) OnPreparingTime(now time.Time) {
	for _, h := range c.hooks {
		if _, ok := h.(SnapshotPreparer); ok {
			c.fireAt(h, now)
		}
	}
}

// nextTime returns the earlier of next (if found) and the time h wants
// OnProcessingTime, if it is a ProcessingTimer that wants it.
func nextTime(h any, next time.Time, found bool) (time.Time, bool) {
	p, ok := h.(ProcessingTimer)
	if !ok {
		return next, found
	}
	if at, ok := p.NextProcessingTime(); ok && (!found || at.Before(next)) {
		return at, true
	}
	return next, found
}

// fireAt calls h's OnProcessingTime if h is a ProcessingTimer whose time
// has come, and no operator has failed.
func (c *Chain) fireAt(h any, now time.Time) {
	if p, ok := h.(ProcessingTimer); ok && c.err == nil {
		if at, ok := p.NextProcessingTime(); ok && !at.After(now) {
			p.OnProcessingTime(now)
		}
	}
}

// Counts reports how many timers and keyed-state entries the chain's
// operators hold, for tests and metrics.
func (c *Chain) Counts() (timers, stateEntries int) {
	for _, h := range c.hooks {
		if t, ok := h.(interface{ Timers() int }); ok {
			timers += t.Timers()
		}
		if s, ok := h.(interface{ StateEntries() int }); ok {
			stateEntries += s.StateEntries()
		}
	}
	return timers, stateEntries
}

// AsyncStats returns, by operator name, the counters of the chain's async
// I/O operators (calls, completions, retries, timeouts, failures, records
// in flight), for metrics. It is called on the subtask's goroutine.
func (c *Chain) AsyncStats() map[string]AsyncStats {
	var out map[string]AsyncStats
	for i, h := range c.hooks {
		if s, ok := h.(interface{ Stats() AsyncStats }); ok {
			if out == nil {
				out = map[string]AsyncStats{}
			}
			out[c.names[i]] = s.Stats()
		}
	}
	return out
}
