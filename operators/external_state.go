package operators

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/troupe-dev/troupe/persistence"
)

// KeyedExternal is External on a keyed stream: the records reach the
// operator partitioned by key group, as every keyed operator's do, and
// open gets the stream's key function too. Runtime packages use it (a
// user's keyed actor, actors.FromKeyedActor); pipelines use the
// runtime's typed wrapper instead.
func KeyedExternal[T any, K comparable, Out any](ks KeyedStream[T, K], kind string,
	open func(tc *TaskContext, key func(T) K, out Collector[Out]) (Collector[T], any, error)) Stream[Out] {
	n := keyedNode[T, K, Out](ks, kind)
	n.open = func(tc *TaskContext, out any) (*instance, error) {
		in, hooks, err := open(tc, ks.key, out.(Collector[Out]))
		if err != nil {
			return nil, err
		}
		return &instance{inputs: []any{in}, hooks: hooks}, nil
	}
	return newStream[Out](n)
}

// ExternalState is the keyed state and the timers of a keyed operator
// whose user code runs outside the subtask's goroutine — a user's actor
// (actors.FromKeyedActor) — for the runtime package that drives it. They
// are the built-in keyed operators' own: a heap or bbolt backend by
// TaskContext.StateBackend, snapshotted and restored by key group, with
// timers deduplicated per key and time and part of the snapshot.
//
// The operator owns them on the subtask's goroutine. For the handling of
// one message it lends them to the user's code (Lend) and takes them
// back once the reply has come (Return); the message and the reply order
// the two goroutines' accesses. While they are lent only the borrower
// touches them, through the KeyedScope and the states got from it, and
// only while a record or a timer sets the current key (ScopeTo,
// PopTimer); any other access panics with an error wrapping
// ErrOutOfScope (see lease). Each method says which side calls it.
type ExternalState[K comparable] struct {
	tc      *TaskContext
	backend persistence.Backend[K]
	scope   stateScope[K]
	timers  *timerService[K]
	lease   lease
	user    KeyedScope[K]
	key     K         // the current key, while scoped
	ts      int64     // the current record's timestamp, or timer's time
	now     time.Time // the processing time when lent

	// what the runtime may ask while the state is lent, kept at Return
	nextProc time.Time
	hasProc  bool
	nTimers  int
}

// KeyedTimer is a timer of a key: its key, time and domain.
type KeyedTimer[K comparable] struct {
	Key K
	Timer
}

// NewExternalState returns the keyed state and timers of tc's subtask,
// held by the operator. Release them with Close.
func NewExternalState[K comparable](tc *TaskContext) (*ExternalState[K], error) {
	b, err := newKeyedBackend[K](tc)
	if err != nil {
		return nil, err
	}
	x := &ExternalState[K]{tc: tc, backend: b, ts: NoTimestamp}
	x.scope = stateScope[K]{b: b, lease: &x.lease}
	x.user.x = x
	if x.timers, err = newTimerService(tc, b); err != nil {
		_ = closeKeyed(b)
		return nil, err
	}
	x.keep()
	return x, nil
}

// Scope returns the handle the borrower uses: the current key's state
// and timers. Either side may call it; the handle acts only while lent.
func (x *ExternalState[K]) Scope() *KeyedScope[K] { return &x.user }

// Lend hands the state to the borrower for one message, with no current
// key yet (operator side).
func (x *ExternalState[K]) Lend() {
	x.now = x.tc.Now()
	x.lease.v.Store(leaseLent)
}

// Return takes the state back from the borrower once its reply has come
// (operator side).
func (x *ExternalState[K]) Return() {
	x.lease.v.Store(leaseHeld)
	x.keep()
}

// held reports whether the operator holds the state (operator side: only
// the operator lends and takes back, so its answer is reliable there).
func (x *ExternalState[K]) held() bool { return x.lease.v.Load() == leaseHeld }

// keep notes what the runtime may ask while the state is lent.
func (x *ExternalState[K]) keep() {
	x.nextProc, x.hasProc = x.timers.nextProcessing()
	x.nTimers = x.timers.len()
}

// ScopeTo makes k the current key, and ts the current timestamp, of
// every state and timer call (borrower side, while lent): the runtime's
// iteration over a message's records calls it before each.
func (x *ExternalState[K]) ScopeTo(k K, ts int64) {
	if x.held() {
		panic(fmt.Errorf("%w: a record of key %v handled after the reply", ErrOutOfScope, k))
	}
	x.backend.SetCurrentKey(k)
	x.key, x.ts = k, ts
	x.lease.v.Store(leaseKeyed)
}

// Unscope ends the current key's scope: until the next ScopeTo, state
// and timer calls fail (borrower side).
func (x *ExternalState[K]) Unscope() {
	x.lease.v.CompareAndSwap(leaseKeyed, leaseLent)
}

// SetWatermark sets the operator's input watermark, which event-time
// timers fire up to (operator side).
func (x *ExternalState[K]) SetWatermark(wm int64) { x.timers.wm = wm }

// EventTimersDue reports whether an event-time timer is at or below the
// watermark (operator side, while held).
func (x *ExternalState[K]) EventTimersDue() bool {
	ts, ok := x.timers.event.PeekTime()
	return ok && ts <= x.timers.wm
}

// ProcessingTimersDue reports whether a processing-time timer is due at
// now (operator side, while held).
func (x *ExternalState[K]) ProcessingTimersDue(now time.Time) bool {
	at, ok := x.timers.nextProcessing()
	return ok && !now.Before(at)
}

// NextProcessingTime returns when the earliest processing-time timer is
// due, as of the last Return (operator side, any time).
func (x *ExternalState[K]) NextProcessingTime() (time.Time, bool) { return x.nextProc, x.hasProc }

// PopTimer removes the next timer of domain d that is due — an
// event-time timer at or below the watermark, a processing-time timer
// the clock of Lend has passed — and scopes the state to its key and
// time (borrower side, while lent). Timers the borrower registers as it
// handles one come out of later calls if they are due, as in Flink.
func (x *ExternalState[K]) PopTimer(d TimeDomain) (KeyedTimer[K], bool) {
	if x.held() {
		panic(fmt.Errorf("%w: timers taken after the reply", ErrOutOfScope))
	}
	bound := x.timers.wm
	if d == ProcessingTime {
		bound = x.now.UnixMilli() - 1 // a timer for T fires once the clock is past T (nextProcessing)
	}
	t, ok := x.timers.queue(d).PopNext(bound)
	if !ok {
		return KeyedTimer[K]{}, false
	}
	x.ScopeTo(t.Key.key, t.Time)
	x.timers.fired(struct{}{}, d, t.Time)
	return KeyedTimer[K]{Key: t.Key.key, Timer: Timer{Time: t.Time, Domain: d}}, true
}

// Timers returns how many timers are set, as of the last Return
// (operator side, any time).
func (x *ExternalState[K]) Timers() int { return x.nTimers }

// StateEntries returns the number of (state, key) entries of the user's
// states, or -1 while the state is lent (operator side).
func (x *ExternalState[K]) StateEntries() int {
	if !x.held() {
		return -1
	}
	return x.backend.Entries() - len(x.backend.Keys("timers"))
}

// RegisteredTimers returns every timer set, event-time ones first, each
// domain in firing order (operator side, while held): tests read them.
func (x *ExternalState[K]) RegisteredTimers() []KeyedTimer[K] {
	var out []KeyedTimer[K]
	for _, d := range []TimeDomain{EventTime, ProcessingTime} {
		for _, t := range x.timers.queue(d).All() {
			out = append(out, KeyedTimer[K]{Key: t.Key.key, Timer: Timer{Time: t.Time, Domain: d}})
		}
	}
	slices.SortStableFunc(out, func(a, b KeyedTimer[K]) int { return cmp.Compare(a.Domain, b.Domain) })
	return out
}

// Inspect runs fn on the calling goroutine with the state lent and
// scoped to key k, as the borrower would see it, then takes it back
// (operator side, while held): a test harness reads a key's state so.
func (x *ExternalState[K]) Inspect(k K, fn func(s *KeyedScope[K])) {
	x.Lend()
	defer x.Return()
	x.ScopeTo(k, NoTimestamp)
	fn(&x.user)
}

// SnapshotState snapshots the keys' states and timers by key group
// (operator side, while held).
func (x *ExternalState[K]) SnapshotState() (*OperatorState, error) {
	if !x.held() {
		return nil, fmt.Errorf("%w: snapshot of keyed state lent to the operator's code", ErrOutOfScope)
	}
	return x.timers.snapshot()
}

// RestoreState takes back the states and timers of this subtask's keys
// from the keyed parts of a restored state (operator side, before the
// state is first lent).
func (x *ExternalState[K]) RestoreState(parts []*OperatorState) error {
	if err := restoreKeyed(x.backend, parts); err != nil {
		return err
	}
	if err := x.timers.restore(); err != nil {
		return err
	}
	x.keep()
	return nil
}

// Close releases the backend (operator side, once the borrower has
// stopped).
func (x *ExternalState[K]) Close() error { return closeKeyed(x.backend) }

// KeyedScope is what a keyed operator's user code outside the subtask
// (a keyed actor) gets to its state and timers: a StateStore, whose
// named states (GetValueState, GetMapState, …) act on the current key,
// and the current key's timers. It acts only while the operator has lent
// it the state — while the code handles a message — and, except for
// getting states, CurrentWatermark and ProcessingTime, only for the
// record or timer being handled (the runtime's iteration over the
// message's records and timers sets the key); any other use panics with
// an error wrapping ErrOutOfScope.
type KeyedScope[K comparable] struct{ x *ExternalState[K] }

func (s *KeyedScope[K]) stateScope() *stateScope[K] { return &s.x.scope }

// Key returns the key of the record or timer being handled.
func (s *KeyedScope[K]) Key() K {
	s.x.lease.check("Key")
	return s.x.key
}

// Timestamp returns the record's event timestamp (or NoTimestamp); for
// a timer, its time.
func (s *KeyedScope[K]) Timestamp() int64 {
	s.x.lease.check("Timestamp")
	return s.x.ts
}

// CurrentWatermark returns the operator's input watermark.
func (s *KeyedScope[K]) CurrentWatermark() int64 {
	s.x.lease.checkLent("CurrentWatermark")
	return s.x.timers.wm
}

// ProcessingTime returns the subtask's processing-time clock as of the
// message being handled.
func (s *KeyedScope[K]) ProcessingTime() time.Time {
	s.x.lease.checkLent("ProcessingTime")
	return s.x.now
}

// RegisterEventTimer sets a timer for the current key that fires once
// the watermark reaches ts. Setting the same (key, time) twice sets one
// timer; a time at or below the current watermark fires at the next
// watermark, or in this message if it is one that fires timers.
func (s *KeyedScope[K]) RegisterEventTimer(ts int64) {
	s.x.lease.check("RegisterEventTimer")
	s.x.timers.register(s.x.key, struct{}{}, EventTime, ts)
}

// DeleteEventTimer removes the current key's event-time timer at ts, if
// any.
func (s *KeyedScope[K]) DeleteEventTimer(ts int64) {
	s.x.lease.check("DeleteEventTimer")
	s.x.timers.delete(s.x.key, struct{}{}, EventTime, ts)
}

// RegisterProcessingTimer sets a timer for the current key that fires
// once the subtask's clock is past at (millisecond precision), as in
// Flink.
func (s *KeyedScope[K]) RegisterProcessingTimer(at time.Time) {
	s.x.lease.check("RegisterProcessingTimer")
	s.x.timers.register(s.x.key, struct{}{}, ProcessingTime, at.UnixMilli())
}

// DeleteProcessingTimer removes the current key's processing-time timer
// at at, if any.
func (s *KeyedScope[K]) DeleteProcessingTimer(at time.Time) {
	s.x.lease.check("DeleteProcessingTimer")
	s.x.timers.delete(s.x.key, struct{}{}, ProcessingTime, at.UnixMilli())
}
