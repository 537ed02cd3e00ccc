package persistence

// ValueState holds one value per key. Its methods act on the backend's
// current key.
type ValueState[V any] struct{ s scalar[V] }

// Value registers (or returns the already registered) value state d.Name.
func Value[K comparable, V any](b Backend[K], d ValueDescriptor[V]) (*ValueState[V], error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	m := stateMeta{name: d.Name, kind: kindValue, ttl: d.TTL}
	return register(b, m, func() (storage, *ValueState[V], error) {
		t, s, err := newScalar(b, m, d.Codec, "ValueDescriptor.Codec")
		return t, &ValueState[V]{s}, err
	})
}

// Value returns the current key's value and whether it has one.
func (s *ValueState[V]) Value() (V, bool) { return s.s.get(false) }

// Update sets the current key's value.
func (s *ValueState[V]) Update(v V) { s.s.set(v) }

// Clear removes the current key's value.
func (s *ValueState[V]) Clear() { s.s.clear() }

// ReducingState holds per key the reduction of the values added to it.
// Its methods act on the backend's current key.
type ReducingState[V any] struct {
	s      scalar[V]
	reduce func(a, b V) V
}

// Reducing registers (or returns the already registered) reducing state
// d.Name.
func Reducing[K comparable, V any](b Backend[K], d ReducingDescriptor[V]) (*ReducingState[V], error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	m := stateMeta{name: d.Name, kind: kindReducing, ttl: d.TTL}
	return register(b, m, func() (storage, *ReducingState[V], error) {
		t, s, err := newScalar(b, m, d.Codec, "ReducingDescriptor.Codec")
		return t, &ReducingState[V]{s: s, reduce: d.Reduce}, err
	})
}

// Get returns the current key's reduced value and whether it has one.
func (s *ReducingState[V]) Get() (V, bool) { return s.s.get(false) }

// Add reduces v into the current key's value; the first value added is
// kept as is.
func (s *ReducingState[V]) Add(v V) {
	if old, ok := s.s.get(true); ok {
		v = s.reduce(old, v)
	}
	s.s.set(v)
}

// Clear removes the current key's value.
func (s *ReducingState[V]) Clear() { s.s.clear() }

// AggregatingState folds per key the inputs added to it into an
// accumulator, and reads as the accumulator's result. Its methods act on
// the backend's current key.
type AggregatingState[In, Out any] struct{ a aggregator[In, Out] }

// aggregator hides the accumulator type from AggregatingState.
type aggregator[In, Out any] interface {
	get() (Out, bool)
	add(In)
	clear()
}

// Aggregating registers (or returns the already registered) aggregating
// state d.Name.
func Aggregating[K comparable, In, Acc, Out any](b Backend[K], d AggregatingDescriptor[In, Acc, Out]) (*AggregatingState[In, Out], error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	m := stateMeta{name: d.Name, kind: kindAggregating, ttl: d.TTL}
	return register(b, m, func() (storage, *AggregatingState[In, Out], error) {
		t, s, err := newScalar(b, m, d.AccCodec, "AggregatingDescriptor.AccCodec")
		return t, &AggregatingState[In, Out]{&accumulator[In, Acc, Out]{s: s, d: d}}, err
	})
}

// Get returns the result of the current key's accumulator, and false if
// nothing was added since the last Clear.
func (s *AggregatingState[In, Out]) Get() (Out, bool) { return s.a.get() }

// Add folds in into the current key's accumulator.
func (s *AggregatingState[In, Out]) Add(in In) { s.a.add(in) }

// Clear removes the current key's accumulator.
func (s *AggregatingState[In, Out]) Clear() { s.a.clear() }

type accumulator[In, Acc, Out any] struct {
	s scalar[Acc]
	d AggregatingDescriptor[In, Acc, Out]
}

func (a *accumulator[In, Acc, Out]) get() (Out, bool) {
	acc, ok := a.s.get(false)
	if !ok {
		var zero Out
		return zero, false
	}
	return a.d.Result(acc), true
}

func (a *accumulator[In, Acc, Out]) add(in In) {
	acc, ok := a.s.get(true)
	if !ok {
		acc = a.d.Create()
	}
	a.s.set(a.d.Add(acc, in))
}

func (a *accumulator[In, Acc, Out]) clear() { a.s.clear() }
