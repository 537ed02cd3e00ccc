package operators

import (
	"cmp"
	"slices"
	"time"

	"github.com/troupe-dev/troupe/persistence"
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

// timerService holds a keyed operator's timers of both domains: in queues
// by time, and in keyed state so that they are snapshotted by key group.
type timerService[K comparable] struct {
	tc    *TaskContext
	event *watermark.TimerQueue[K]
	proc  *watermark.TimerQueue[K]
	wm    int64
	b     *persistence.HeapBackend[K]
	state *persistence.MapState[timerKey, struct{}]
}

func newTimerService[K comparable](tc *TaskContext, b *persistence.HeapBackend[K]) (*timerService[K], error) {
	st, err := persistence.Map(b, persistence.MapDescriptor[timerKey, struct{}]{Name: "timers",
		KeyCodec: timerKeyCodec{}, ValueCodec: emptyCodec{}})
	if err != nil {
		return nil, err
	}
	return &timerService[K]{tc: tc, event: watermark.NewTimerQueue[K](), proc: watermark.NewTimerQueue[K](),
		wm: MinWatermark, b: b, state: st}, nil
}

func (s *timerService[K]) queue(d TimeDomain) *watermark.TimerQueue[K] {
	if d == ProcessingTime {
		return s.proc
	}
	return s.event
}

// register sets a timer of the current key.
func (s *timerService[K]) register(k K, d TimeDomain, ts int64) {
	if s.queue(d).Register(k, ts) {
		s.state.Put(timerKey{Domain: d, Time: ts}, struct{}{})
	}
}

func (s *timerService[K]) delete(k K, d TimeDomain, ts int64) {
	if s.queue(d).Delete(k, ts) {
		s.state.Remove(timerKey{Domain: d, Time: ts})
	}
}

// restore rebuilds the queues from the restored keyed state. Timers of
// equal time are registered in the order of their keys' encodings, so
// that they fire in the same order in every run.
func (s *timerService[K]) restore() error {
	type restored struct {
		key K
		enc string
		tk  timerKey
	}
	var all []restored
	for _, k := range s.b.Keys("timers") {
		enc, err := JSONCodec[K]{}.Append(nil, k)
		if err != nil {
			return err
		}
		s.b.SetCurrentKey(k)
		for tk := range s.state.All() {
			all = append(all, restored{key: k, enc: string(enc), tk: tk})
		}
	}
	slices.SortFunc(all, func(a, b restored) int {
		return cmp.Or(cmp.Compare(a.tk.Time, b.tk.Time), cmp.Compare(a.enc, b.enc), cmp.Compare(a.tk.Domain, b.tk.Domain))
	})
	for _, r := range all {
		s.queue(r.tk.Domain).Register(r.key, r.tk.Time)
	}
	return nil
}

// CurrentWatermark returns the operator's input watermark.
func (c *KeyedContext[K, S]) CurrentWatermark() int64 { return c.timers.wm }

// ProcessingTime returns the subtask's processing-time clock.
func (c *KeyedContext[K, S]) ProcessingTime() time.Time { return c.Task.Now() }

// RegisterEventTimer sets a timer for the current key that fires once the
// watermark reaches ts. Setting the same (key, time) twice sets one timer;
// a time at or below the current watermark fires at the next watermark.
func (c *KeyedContext[K, S]) RegisterEventTimer(ts int64) { c.timers.register(c.key, EventTime, ts) }

// DeleteEventTimer removes the current key's event-time timer at ts, if any.
func (c *KeyedContext[K, S]) DeleteEventTimer(ts int64) { c.timers.delete(c.key, EventTime, ts) }

// RegisterProcessingTimer sets a timer for the current key that fires once
// the subtask's clock reaches at (millisecond precision).
func (c *KeyedContext[K, S]) RegisterProcessingTimer(at time.Time) {
	c.timers.register(c.key, ProcessingTime, at.UnixMilli())
}

// DeleteProcessingTimer removes the current key's processing-time timer at
// at, if any.
func (c *KeyedContext[K, S]) DeleteProcessingTimer(at time.Time) {
	c.timers.delete(c.key, ProcessingTime, at.UnixMilli())
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
	if p.tc.Failed() {
		return
	}
	p.setKey(k, t.Time)
	p.ctx.timers.state.Remove(timerKey{Domain: t.Domain, Time: t.Time})
	if p.onTimer == nil { // ProcessKeyed without timers: nothing to run
		return
	}
	if err := p.onTimer(&p.ctx, t, p.out); err != nil {
		p.tc.Fail(err)
	}
}
