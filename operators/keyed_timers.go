package operators

import (
	"cmp"
	"math"
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

// nsTimers holds a keyed operator's timers of both domains, each for a
// key and a namespace N within the key (a window; struct{} for none): in
// queues by time, and in the keyed state "timers" of their key so that
// they are snapshotted by key group. Timers are deduplicated per (key,
// namespace, time, domain).
//
// With the heap backend the timers are written into that state only for
// a snapshot (snapshot), which copies the state at the barrier, and
// read from it at a restore: keeping a mirror of every timer in state
// as it is set and fired cost about a tenth of a windowed query's time.
// A bbolt backend's snapshot is a read transaction that is streamed
// later, so there the state mirrors the queues at all times. Either
// way the snapshots hold the same entries.
type nsTimers[K comparable, N comparable] struct {
	tc    *TaskContext
	event timerQueue[nsKey[K, N]]
	proc  timerQueue[nsKey[K, N]]
	wm    int64
	b     persistence.Backend[K]
	state *persistence.MapState[timerKey[N], struct{}]
	// mirror: the state follows every change of the queues (bbolt)
	mirror bool
	ns     Codec[N]
	// registers counts the calls of register, repeats included: the
	// window tests check how often timers are set.
	registers int
}

// nsKey is what a timer queue holds: the key and the namespace.
type nsKey[K comparable, N comparable] struct {
	key K
	ns  N
}

// timerQueue is a queue of one time domain's timers: a
// watermark.TimerQueue, or a watermark.GroupedTimerQueue for timers that
// move (see queueKind). Both hold and fire the same timers.
type timerQueue[T comparable] interface {
	Register(key T, ts int64) bool
	RegisterNew(key T, ts int64)
	Delete(key T, ts int64) bool
	Contains(key T, ts int64) bool
	Len() int
	PeekTime() (int64, bool)
	PopUpTo(ts int64, fn func(key T, ts int64)) int
	PopNext(ts int64) (watermark.Timer[T], bool)
	All() []watermark.Timer[T]
}

var (
	_ timerQueue[int] = (*watermark.TimerQueue[int])(nil)
	_ timerQueue[int] = (*watermark.GroupedTimerQueue[int, int])(nil)
)

// queueKind chooses the timer queues of an operator by how its timers
// behave.
type queueKind uint8

const (
	// byTime: many timers at few times (window ends shared by every
	// key), set and fired, seldom moved: watermark.TimerQueue.
	byTime queueKind = iota
	// byKey: a key's few timers, moved by its records (session windows,
	// whose end timer every extending record deletes and sets again
	// later): watermark.GroupedTimerQueue, grouped by key.
	byKey
)

func newQueue[K comparable, N comparable](kind queueKind) timerQueue[nsKey[K, N]] {
	if kind == byKey {
		return watermark.NewGroupedTimerQueue[nsKey[K, N]](func(k nsKey[K, N]) K { return k.key })
	}
	return watermark.NewTimerQueue[nsKey[K, N]]()
}

// timerService is the timers of a keyed process function: no namespace.
type timerService[K comparable] = nsTimers[K, struct{}]

func newTimerService[K comparable](tc *TaskContext, b persistence.Backend[K]) (*timerService[K], error) {
	return newNSTimers[K, struct{}](tc, b, emptyCodec{}, byTime)
}

func newNSTimers[K comparable, N comparable](tc *TaskContext, b persistence.Backend[K], ns Codec[N], kind queueKind) (*nsTimers[K, N], error) {
	st, err := persistence.Map(b, persistence.MapDescriptor[timerKey[N], struct{}]{Name: "timers",
		KeyCodec: timerKeyCodec[N]{ns: ns}, ValueCodec: emptyCodec{}})
	if err != nil {
		return nil, err
	}
	_, heap := b.(*persistence.HeapBackend[K])
	return &nsTimers[K, N]{tc: tc, event: newQueue[K, N](kind), proc: newQueue[K, N](kind),
		wm: MinWatermark, b: b, state: st, mirror: !heap, ns: ns}, nil
}

func (s *nsTimers[K, N]) queue(d TimeDomain) timerQueue[nsKey[K, N]] {
	if d == ProcessingTime {
		return s.proc
	}
	return s.event
}

// register sets a timer of key k, which must be the backend's current key.
func (s *nsTimers[K, N]) register(k K, ns N, d TimeDomain, ts int64) {
	s.registers++
	if s.queue(d).Register(nsKey[K, N]{k, ns}, ts) && s.mirror {
		s.state.Put(timerKey[N]{Domain: d, Time: ts, NS: ns}, struct{}{})
	}
}

// registerNew sets a timer that k does not have (see
// watermark.TimerQueue.RegisterNew); k must be the backend's current
// key.
func (s *nsTimers[K, N]) registerNew(k K, ns N, d TimeDomain, ts int64) {
	s.registers++
	s.queue(d).RegisterNew(nsKey[K, N]{k, ns}, ts)
	if s.mirror {
		s.state.Put(timerKey[N]{Domain: d, Time: ts, NS: ns}, struct{}{})
	}
}

// delete removes a timer of key k, which must be the backend's current
// key.
func (s *nsTimers[K, N]) delete(k K, ns N, d TimeDomain, ts int64) {
	if s.queue(d).Delete(nsKey[K, N]{k, ns}, ts) && s.mirror {
		s.state.Remove(timerKey[N]{Domain: d, Time: ts, NS: ns})
	}
}

// fired forgets a timer that the queue has popped; the backend's current
// key must be its key.
func (s *nsTimers[K, N]) fired(ns N, d TimeDomain, ts int64) {
	if s.mirror {
		s.state.Remove(timerKey[N]{Domain: d, Time: ts, NS: ns})
	}
}

// has reports whether key k has a timer at ts of namespace ns in domain
// d.
func (s *nsTimers[K, N]) has(k K, ns N, d TimeDomain, ts int64) bool {
	return s.queue(d).Contains(nsKey[K, N]{k, ns}, ts)
}

// snapshot snapshots the backend, timers included (see nsTimers): with
// the heap backend they are written into their state for the copy and
// removed from it again. The backend's current key is kept.
func (s *nsTimers[K, N]) snapshot() (*OperatorState, error) {
	if s.mirror {
		return keyedSnapshot(s.b)
	}
	cur := s.b.CurrentKey()
	defer s.b.SetCurrentKey(cur)
	for _, d := range []TimeDomain{EventTime, ProcessingTime} {
		for _, t := range s.queue(d).All() {
			s.b.SetCurrentKey(t.Key.key)
			s.state.Put(timerKey[N]{Domain: d, Time: t.Time, NS: t.Key.ns}, struct{}{})
		}
	}
	defer s.clearState()
	return keyedSnapshot(s.b)
}

// clearState removes every timer from the state (not from the queues).
func (s *nsTimers[K, N]) clearState() {
	for _, k := range s.b.Keys("timers") {
		s.b.SetCurrentKey(k)
		s.state.Clear()
	}
}

// nextProcessing returns when the earliest processing-time timer is due:
// a timer for T fires once the clock is past T, at T+1 ms, as Flink's
// ProcessingTimeServiceUtil arms it ("to align with watermark
// semantics": at T a record for T may still come, as a record at the
// watermark is not late).
func (s *nsTimers[K, N]) nextProcessing() (time.Time, bool) {
	ts, ok := s.proc.PeekTime()
	if !ok {
		return time.Time{}, false
	}
	if ts < math.MaxInt64 {
		ts++
	}
	return time.UnixMilli(ts), true
}

// popProcessing fires, in time order, the processing-time timers whose
// time the clock now has passed, until the output waits for credit (see
// fireUpTo); it reports whether all have fired.
func (s *nsTimers[K, N]) popProcessing(now time.Time, fire func(k nsKey[K, N], ts int64)) bool {
	return s.fireUpTo(s.proc, now.UnixMilli()-1, fire)
}

// fireUpTo fires, in time order, q's timers up to ts, and stops before
// the next one while the chain's output waits for credit: it reports
// whether all have fired. The rest stay in the queue — and so in any
// snapshot — for the operator to fire on Resume (firingHold).
func (s *nsTimers[K, N]) fireUpTo(q timerQueue[nsKey[K, N]], ts int64, fire func(k nsKey[K, N], ts int64)) bool {
	if !s.tc.braked() {
		q.PopUpTo(ts, fire) // outside a chain's brake: all at once
		return true
	}
	for !s.tc.outputWaits() {
		t, ok := q.PopNext(ts)
		if !ok {
			return true
		}
		fire(t.Key, t.Time)
	}
	next, ok := q.PeekTime()
	return !ok || next > ts
}

// len returns the number of timers of both domains.
func (s *nsTimers[K, N]) len() int { return s.event.Len() + s.proc.Len() }

// restore rebuilds the queues from the restored keyed state. Timers of
// equal time are registered in the order of their keys' and namespaces'
// encodings, so that they fire in the same order in every run.
func (s *nsTimers[K, N]) restore() error {
	type restored struct {
		key K
		enc string
		tk  timerKey[N]
	}
	var all []restored
	codec := timerKeyCodec[N]{ns: s.ns}
	for _, k := range s.b.Keys("timers") {
		enc, err := JSONCodec[K]{}.Append(nil, k)
		if err != nil {
			return err
		}
		s.b.SetCurrentKey(k)
		for tk := range s.state.All() {
			full, err := codec.Append(enc, tk)
			if err != nil {
				return err
			}
			all = append(all, restored{key: k, enc: string(full), tk: tk})
		}
	}
	slices.SortFunc(all, func(a, b restored) int {
		return cmp.Or(cmp.Compare(a.tk.Time, b.tk.Time), cmp.Compare(a.enc, b.enc))
	})
	for _, r := range all {
		s.queue(r.tk.Domain).Register(nsKey[K, N]{r.key, r.tk.NS}, r.tk.Time)
	}
	if !s.mirror {
		s.clearState() // the queues hold them now; a snapshot writes them again
	}
	return nil
}

// CurrentWatermark returns the operator's input watermark.
func (c *KeyedContext[K]) CurrentWatermark() int64 { return c.timers.wm }

// ProcessingTime returns the subtask's processing-time clock.
func (c *KeyedContext[K]) ProcessingTime() time.Time { return c.Task.Now() }

// RegisterEventTimer sets a timer for the current key that fires once the
// watermark reaches ts. Setting the same (key, time) twice sets one timer;
// a time at or below the current watermark fires at the next watermark.
func (c *KeyedContext[K]) RegisterEventTimer(ts int64) {
	c.timers.register(c.key, struct{}{}, EventTime, ts)
}

// DeleteEventTimer removes the current key's event-time timer at ts, if any.
func (c *KeyedContext[K]) DeleteEventTimer(ts int64) {
	c.timers.delete(c.key, struct{}{}, EventTime, ts)
}

// RegisterProcessingTimer sets a timer for the current key that fires once
// the subtask's clock is past at (millisecond precision): at at + 1 ms,
// as in Flink.
func (c *KeyedContext[K]) RegisterProcessingTimer(at time.Time) {
	c.timers.register(c.key, struct{}{}, ProcessingTime, at.UnixMilli())
}

// DeleteProcessingTimer removes the current key's processing-time timer at
// at, if any.
func (c *KeyedContext[K]) DeleteProcessingTimer(at time.Time) {
	c.timers.delete(c.key, struct{}{}, ProcessingTime, at.UnixMilli())
}

// Timers returns how many timers are set, both domains together.
func (p *keyedProcessOp[T, K, Out]) Timers() int {
	return p.ctx.timers.len()
}

// ProcessWatermark fires the event-time timers the watermark has passed.
// It stops between two timers while the chain's output waits for credit
// and holds the watermark back until the rest have fired (firingHold).
func (p *keyedProcessOp[T, K, Out]) ProcessWatermark(wm int64) (int64, bool) {
	p.ctx.timers.wm = wm
	return p.hold.watermark(wm, p.fireEvent)
}

func (p *keyedProcessOp[T, K, Out]) fireEvent() bool {
	t := p.ctx.timers
	return t.fireUpTo(t.event, t.wm, func(k nsKey[K, struct{}], ts int64) { p.fire(k.key, Timer{Time: ts, Domain: EventTime}) })
}

// NextProcessingTime reports when the earliest processing-time timer is
// due; never while timers the clock passed wait for credit (Resume fires
// them).
func (p *keyedProcessOp[T, K, Out]) NextProcessingTime() (time.Time, bool) {
	if p.hold.proc {
		return time.Time{}, false
	}
	return p.ctx.timers.nextProcessing()
}

// OnProcessingTime fires the processing-time timers the clock has passed.
func (p *keyedProcessOp[T, K, Out]) OnProcessingTime(now time.Time) {
	p.hold.clock(now, p.fireProcessing)
}

func (p *keyedProcessOp[T, K, Out]) fireProcessing(now time.Time) bool {
	return p.ctx.timers.popProcessing(now, func(k nsKey[K, struct{}], ts int64) {
		p.fire(k.key, Timer{Time: ts, Domain: ProcessingTime})
	})
}

// holdingOutput and resumeOutput implement outputHolder.
func (p *keyedProcessOp[T, K, Out]) holdingOutput() bool { return p.hold.holding() && !p.tc.Failed() }

func (p *keyedProcessOp[T, K, Out]) resumeOutput() bool {
	return p.hold.resume(p.tc, p.fireProcessing, p.fireEvent)
}

func (p *keyedProcessOp[T, K, Out]) fire(k K, t Timer) {
	if p.tc.Failed() {
		return
	}
	p.setKey(k, t.Time)
	p.ctx.timers.fired(struct{}{}, t.Domain, t.Time)
	if p.onTimer == nil { // ProcessKeyed without timers: nothing to run
		return
	}
	if err := p.onTimer(&p.ctx, t, p.out); err != nil {
		p.tc.Fail(err)
	}
}
