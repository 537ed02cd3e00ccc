package operators

import (
	"fmt"
	"iter"
	"sync/atomic"
)

// The lease of an ExternalState: who may touch the keyed state and timers
// now. The operator lends them to the user's code for the handling of one
// message and takes them back when the reply arrives; in between, only
// that code touches them, and only while it handles a record or a timer
// (which sets the current key). The message and its reply order the two
// goroutines' accesses, so the state needs no lock; the lease only
// catches code that breaks the rule — a goroutine of the actor's own
// that keeps using a state after the reply, say — and fails it with
// ErrOutOfScope instead of letting it corrupt the state. Like Go's check
// of concurrent map writes it is a best effort, not a lock: an access
// that races with the reply may still slip through.

const (
	leaseHeld  int32 = iota // the operator holds the state
	leaseLent               // lent, with no current key (Open, a watermark, end of input)
	leaseKeyed              // lent, scoped to the key of a record or timer
)

// lease says whether an ExternalState is lent, and scoped to a key.
type lease struct{ v atomic.Int32 }

// lent returns an error wrapping ErrOutOfScope unless the state is lent
// (to register state name); a nil lease (state that is never lent) is
// always usable.
func (l *lease) lent(name string) error {
	if l == nil || l.v.Load() != leaseHeld {
		return nil
	}
	return fmt.Errorf("state %q: %w: asked for while the operator holds its state (outside the handling of a message)", name, ErrOutOfScope)
}

// check panics with an error wrapping ErrOutOfScope unless the state is
// lent and scoped to a key; what names the access. A nil lease passes.
func (l *lease) check(what string) {
	if l == nil {
		return
	}
	switch l.v.Load() {
	case leaseKeyed:
	case leaseLent:
		panic(fmt.Errorf("%w: %s with no current key: keyed state and timers act only on the record or timer being handled", ErrOutOfScope, what))
	default:
		panic(fmt.Errorf("%w: %s while the operator holds its state: after the reply, or from another goroutine", ErrOutOfScope, what))
	}
}

// checkLent panics with an error wrapping ErrOutOfScope unless the
// state is lent, scoped to a key or not; what names the access.
func (l *lease) checkLent(what string) {
	if l.v.Load() == leaseHeld {
		panic(fmt.Errorf("%w: %s while the operator holds its state: after the reply, or from another goroutine", ErrOutOfScope, what))
	}
}

// The states handed to code that borrows an ExternalState: each access
// checks the lease first.

func leaseValue[V any](l *lease, s ValueState[V]) ValueState[V] {
	if l == nil {
		return s
	}
	return leasedValue[V]{s, l}
}

type leasedValue[V any] struct {
	s ValueState[V]
	l *lease
}

func (v leasedValue[V]) Value() (V, bool) { v.l.check("ValueState.Value"); return v.s.Value() }
func (v leasedValue[V]) Update(x V)       { v.l.check("ValueState.Update"); v.s.Update(x) }
func (v leasedValue[V]) Clear()           { v.l.check("ValueState.Clear"); v.s.Clear() }

func leaseList[V any](l *lease, s ListState[V]) ListState[V] {
	if l == nil {
		return s
	}
	return leasedList[V]{s, l}
}

type leasedList[V any] struct {
	s ListState[V]
	l *lease
}

func (v leasedList[V]) Get() []V      { v.l.check("ListState.Get"); return v.s.Get() }
func (v leasedList[V]) Add(x V)       { v.l.check("ListState.Add"); v.s.Add(x) }
func (v leasedList[V]) AddAll(xs []V) { v.l.check("ListState.AddAll"); v.s.AddAll(xs) }
func (v leasedList[V]) Update(xs []V) { v.l.check("ListState.Update"); v.s.Update(xs) }
func (v leasedList[V]) Clear()        { v.l.check("ListState.Clear"); v.s.Clear() }

func leaseMap[UK comparable, UV any](l *lease, s MapState[UK, UV]) MapState[UK, UV] {
	if l == nil {
		return s
	}
	return leasedMap[UK, UV]{s, l}
}

type leasedMap[UK comparable, UV any] struct {
	s MapState[UK, UV]
	l *lease
}

func (m leasedMap[UK, UV]) Get(k UK) (UV, bool) { m.l.check("MapState.Get"); return m.s.Get(k) }
func (m leasedMap[UK, UV]) Put(k UK, v UV)      { m.l.check("MapState.Put"); m.s.Put(k, v) }
func (m leasedMap[UK, UV]) Remove(k UK)         { m.l.check("MapState.Remove"); m.s.Remove(k) }
func (m leasedMap[UK, UV]) Contains(k UK) bool {
	m.l.check("MapState.Contains")
	return m.s.Contains(k)
}
func (m leasedMap[UK, UV]) All() iter.Seq2[UK, UV] { m.l.check("MapState.All"); return m.s.All() }
func (m leasedMap[UK, UV]) Len() int               { m.l.check("MapState.Len"); return m.s.Len() }
func (m leasedMap[UK, UV]) Clear()                 { m.l.check("MapState.Clear"); m.s.Clear() }

func leaseReducing[V any](l *lease, s ReducingState[V]) ReducingState[V] {
	if l == nil {
		return s
	}
	return leasedReducing[V]{s, l}
}

type leasedReducing[V any] struct {
	s ReducingState[V]
	l *lease
}

func (v leasedReducing[V]) Get() (V, bool) { v.l.check("ReducingState.Get"); return v.s.Get() }
func (v leasedReducing[V]) Add(x V)        { v.l.check("ReducingState.Add"); v.s.Add(x) }
func (v leasedReducing[V]) Clear()         { v.l.check("ReducingState.Clear"); v.s.Clear() }

func leaseAggregating[In, Out any](l *lease, s AggregatingState[In, Out]) AggregatingState[In, Out] {
	if l == nil {
		return s
	}
	return leasedAggregating[In, Out]{s, l}
}

type leasedAggregating[In, Out any] struct {
	s AggregatingState[In, Out]
	l *lease
}

func (v leasedAggregating[In, Out]) Get() (Out, bool) {
	v.l.check("AggregatingState.Get")
	return v.s.Get()
}
func (v leasedAggregating[In, Out]) Add(x In) { v.l.check("AggregatingState.Add"); v.s.Add(x) }
func (v leasedAggregating[In, Out]) Clear()   { v.l.check("AggregatingState.Clear"); v.s.Clear() }
