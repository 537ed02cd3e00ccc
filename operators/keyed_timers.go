package operators

import (
	"time"

	"github.com/troupe-dev/troupe/watermark"
)

// TimeDomain says which clock a timer follows.
type TimeDomain uint8

const (
	// EventTime timers fire when the watermark reaches their time.
	EventTime TimeDomain = iota
	// ProcessingTime timers fire when the subtask's clock reaches it.
	ProcessingTime
)

func (d TimeDomain) String() string {
	if d == ProcessingTime {
		return "processing-time"
	}
	return "event-time"
}

// Timer is a timer that fired: its time in epoch milliseconds and domain.
type Timer struct {
	Time   int64
	Domain TimeDomain
}

// timerService holds a keyed operator's timers of both domains.
type timerService[K comparable] struct {
	tc    *TaskContext
	event *watermark.TimerQueue[K]
	proc  *watermark.TimerQueue[K]
	wm    int64
}

func newTimerService[K comparable](tc *TaskContext) *timerService[K] {
	return &timerService[K]{tc: tc, event: watermark.NewTimerQueue[K](), proc: watermark.NewTimerQueue[K](),
		wm: MinWatermark}
}

// CurrentWatermark returns the operator's input watermark.
func (c *KeyedContext[K, S]) CurrentWatermark() int64 { return c.timers.wm }

// ProcessingTime returns the subtask's processing-time clock.
func (c *KeyedContext[K, S]) ProcessingTime() time.Time { return c.Task.Now() }

// RegisterEventTimer sets a timer for the current key that fires once the
// watermark reaches ts. Setting the same (key, time) twice sets one timer;
// a time at or below the current watermark fires at the next watermark.
func (c *KeyedContext[K, S]) RegisterEventTimer(ts int64) { c.timers.event.Register(c.key, ts) }

// DeleteEventTimer removes the current key's event-time timer at ts, if any.
func (c *KeyedContext[K, S]) DeleteEventTimer(ts int64) { c.timers.event.Delete(c.key, ts) }

// RegisterProcessingTimer sets a timer for the current key that fires once
// the subtask's clock reaches at (millisecond precision).
func (c *KeyedContext[K, S]) RegisterProcessingTimer(at time.Time) {
	c.timers.proc.Register(c.key, at.UnixMilli())
}

// DeleteProcessingTimer removes the current key's processing-time timer at
// at, if any.
func (c *KeyedContext[K, S]) DeleteProcessingTimer(at time.Time) {
	c.timers.proc.Delete(c.key, at.UnixMilli())
}

// Timers returns how many timers are set, both domains together.
func (p *keyedProcessOp[T, K, S, Out]) Timers() int {
	return p.ctx.timers.event.Len() + p.ctx.timers.proc.Len()
}

// ProcessWatermark fires the event-time timers the watermark has passed.
func (p *keyedProcessOp[T, K, S, Out]) ProcessWatermark(wm int64) (int64, bool) {
	p.ctx.timers.wm = wm
	p.ctx.timers.event.PopUpTo(wm, func(k K, ts int64) { p.fire(k, Timer{Time: ts, Domain: EventTime}) })
	return wm, true
}

// NextProcessingTime reports the earliest processing-time timer.
func (p *keyedProcessOp[T, K, S, Out]) NextProcessingTime() (time.Time, bool) {
	ts, ok := p.ctx.timers.proc.PeekTime()
	return time.UnixMilli(ts), ok
}

// OnProcessingTime fires the processing-time timers due by now.
func (p *keyedProcessOp[T, K, S, Out]) OnProcessingTime(now time.Time) {
	p.ctx.timers.proc.PopUpTo(now.UnixMilli(), func(k K, ts int64) {
		p.fire(k, Timer{Time: ts, Domain: ProcessingTime})
	})
}

func (p *keyedProcessOp[T, K, S, Out]) fire(k K, t Timer) {
	if p.onTimer == nil || p.tc.Failed() {
		return
	}
	p.ctx.key, p.ctx.ts = k, t.Time
	if err := p.onTimer(&p.ctx, t, p.out); err != nil {
		p.tc.Fail(err)
	}
}
