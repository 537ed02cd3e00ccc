package operators

import "github.com/troupe-dev/troupe/persistence"

// KeyedStream is a stream partitioned by key: every record of one key goes
// to the same subtask (the owner of the key's key group), where keyed state
// is scoped to that key.
type KeyedStream[T any, K comparable] struct {
	s   Stream[T]
	key func(T) K
}

// KeyBy partitions a stream by the key that fn extracts. Keys are hashed
// deterministically (see HashKey).
func KeyBy[T any, K comparable](s Stream[T], fn func(T) K) KeyedStream[T, K] {
	ks := KeyedStream[T, K]{s: s, key: fn}
	ks.s.part = Hash
	if fn != nil {
		h := keyHasher[K]()
		ks.s.hash = func(v T) uint64 { return h(fn(v)) }
	}
	return ks
}

// keyedNode adds the node of an operator on a keyed stream, failing it at
// build time when the key function is missing.
func keyedNode[T any, K comparable, Out any](ks KeyedStream[T, K], kind string) *node {
	n := ks.s.n.p.addNode(kindOperator, kind, newStreamOps[Out]())
	connect(ks.s, n)
	if ks.key == nil {
		n.p.fail(n, ErrNoKeyFunc)
	}
	return n
}

// Reduce keeps a running reduction per key and emits the new value for
// every record (as Flink's keyed reduce does): for a sum, the running sum.
func Reduce[T any, K comparable](ks KeyedStream[T, K], fn func(acc, v T) T) Stream[T] {
	n := keyedNode[T, K, T](ks, "reduce")
	if fn == nil {
		n.p.fail(n, ErrNilFunc)
	}
	n.open = func(tc *TaskContext, out any) (*instance, error) {
		op := &reduceOp[T, K]{fn: fn, key: ks.key, out: out.(Collector[T]), state: make(map[K]*T), tc: tc}
		return &instance{inputs: []any{Collector[T](op)}, hooks: op}, nil
	}
	return newStream[T](n)
}

type reduceOp[T any, K comparable] struct {
	fn    func(acc, v T) T
	key   func(T) K
	out   Collector[T]
	state map[K]*T // pointers, so that an update costs one map lookup
	tc    *TaskContext
}

func (r *reduceOp[T, K]) Collect(v T, ts int64) {
	k := r.key(v)
	acc, ok := r.state[k]
	if !ok {
		acc = new(T)
		*acc = v
		r.state[k] = acc
	} else {
		*acc = r.fn(*acc, v)
	}
	r.out.Collect(*acc, ts)
}

// StateEntries returns the number of keys with state.
func (r *reduceOp[T, K]) StateEntries() int { return len(r.state) }

// SnapshotState copies the running values into a state backend, which
// encodes them by key group: the hot path keeps its one map lookup per
// record, and a checkpoint pays for the copy.
func (r *reduceOp[T, K]) SnapshotState(int64) (*OperatorState, error) {
	b, value, err := r.backend()
	if err != nil {
		return nil, err
	}
	for k, v := range r.state {
		b.SetCurrentKey(k)
		value.Update(*v)
	}
	return keyedSnapshot(b)
}

// RestoreState takes back the running values of this subtask's keys.
func (r *reduceOp[T, K]) RestoreState(parts []*OperatorState) error {
	b, value, err := r.backend()
	if err != nil {
		return err
	}
	if err := restoreKeyed(b, parts); err != nil {
		return err
	}
	clear(r.state)
	for _, k := range b.Keys("reduce") {
		b.SetCurrentKey(k)
		v, _ := value.Value()
		r.state[k] = &v
	}
	return nil
}

func (r *reduceOp[T, K]) backend() (*persistence.HeapBackend[K], *persistence.ValueState[T], error) {
	b, err := newHeapKeyedBackend[K](r.tc) // a copy to encode: the state is r.state
	if err != nil {
		return nil, nil, err
	}
	value, err := persistence.Value(b, persistence.ValueDescriptor[T]{Name: "reduce", Codec: JSONCodec[T]{}})
	return b, value, err
}

// ValueState is one value of type S per key. An operator's ValueState is
// always scoped to the key of the record being processed.
type ValueState[S any] struct {
	get   func() (S, bool)
	set   func(S)
	clear func()
}

// Value returns the current key's value and whether it is set.
func (v *ValueState[S]) Value() (S, bool) { return v.get() }

// Update sets the current key's value.
func (v *ValueState[S]) Update(s S) { v.set(s) }

// Clear removes the current key's value.
func (v *ValueState[S]) Clear() { v.clear() }

// KeyedContext is given to a keyed process function with each record.
type KeyedContext[K comparable, S any] struct {
	key    K
	ts     int64
	state  ValueState[S]
	timers *timerService[K]
	Task   *TaskContext
}

// Key returns the key of the current record.
func (c *KeyedContext[K, S]) Key() K { return c.key }

// Timestamp returns the current record's event timestamp (or NoTimestamp).
func (c *KeyedContext[K, S]) Timestamp() int64 { return c.ts }

// State returns the value state of the current key.
func (c *KeyedContext[K, S]) State() *ValueState[S] { return &c.state }

// KeyedProcessFunc handles one record of a keyed stream with access to the
// key's state; an error fails the subtask.
type KeyedProcessFunc[K comparable, T, S, Out any] func(ctx *KeyedContext[K, S], v T, out Collector[Out]) error

// ProcessKeyed runs fn on every record of a keyed stream, with a value state
// of type S per key.
func ProcessKeyed[T any, K comparable, S, Out any](ks KeyedStream[T, K], fn KeyedProcessFunc[K, T, S, Out]) Stream[Out] {
	n := keyedNode[T, K, Out](ks, "process")
	n.anySide = true // fn emits side outputs through SideOutput(ctx.Task, tag)
	if fn == nil {
		n.p.fail(n, ErrNilFunc)
	}
	n.open = func(tc *TaskContext, out any) (*instance, error) {
		op, err := newKeyedProcessOp(tc, ks.key, fn, out.(Collector[Out]))
		if err != nil {
			return nil, err
		}
		return &instance{inputs: []any{Collector[T](op)}, hooks: op}, nil
	}
	return newStream[Out](n)
}

// KeyedTimerFunc is called when a timer that a keyed process function
// registered fires, scoped to the timer's key: ctx.Timestamp() is the
// timer's time and ctx.State() the key's state.
type KeyedTimerFunc[K comparable, S, Out any] func(ctx *KeyedContext[K, S], timer Timer, out Collector[Out]) error

// ProcessKeyedWithTimers is ProcessKeyed with timers: fn may register
// event-time and processing-time timers for the current key through ctx,
// and onTimer runs when one fires (event-time timers when the watermark
// passes them, processing-time ones when the clock does). Timers are
// deduplicated per key and time.
func ProcessKeyedWithTimers[T any, K comparable, S, Out any](ks KeyedStream[T, K], fn KeyedProcessFunc[K, T, S, Out], onTimer KeyedTimerFunc[K, S, Out]) Stream[Out] {
	n := keyedNode[T, K, Out](ks, "process")
	n.anySide = true // fn emits side outputs through SideOutput(ctx.Task, tag)
	if fn == nil || onTimer == nil {
		n.p.fail(n, ErrNilFunc)
	}
	n.open = func(tc *TaskContext, out any) (*instance, error) {
		op, err := newKeyedProcessOp(tc, ks.key, fn, out.(Collector[Out]))
		if err != nil {
			return nil, err
		}
		op.onTimer = onTimer
		return &instance{inputs: []any{Collector[T](op)}, hooks: op}, nil
	}
	return newStream[Out](n)
}

type keyedProcessOp[T any, K comparable, S, Out any] struct {
	fn      KeyedProcessFunc[K, T, S, Out]
	onTimer KeyedTimerFunc[K, S, Out]
	key     func(T) K
	out     Collector[Out]
	tc      *TaskContext
	backend persistence.Backend[K]
	value   *persistence.ValueState[S]
	ctx     KeyedContext[K, S]
}

func newKeyedProcessOp[T any, K comparable, S, Out any](tc *TaskContext, key func(T) K, fn KeyedProcessFunc[K, T, S, Out], out Collector[Out]) (*keyedProcessOp[T, K, S, Out], error) {
	b, err := newKeyedBackend[K](tc)
	if err != nil {
		return nil, err
	}
	value, err := persistence.Value(b, persistence.ValueDescriptor[S]{Name: "value", Codec: JSONCodec[S]{}})
	if err != nil {
		_ = closeKeyed(b)
		return nil, err
	}
	op := &keyedProcessOp[T, K, S, Out]{fn: fn, key: key, out: out, tc: tc, backend: b, value: value}
	op.ctx.Task = tc
	if op.ctx.timers, err = newTimerService(tc, b); err != nil {
		_ = closeKeyed(b)
		return nil, err
	}
	op.ctx.state = ValueState[S]{get: value.Value, set: value.Update, clear: value.Clear}
	return op, nil
}

func (p *keyedProcessOp[T, K, S, Out]) Collect(v T, ts int64) {
	if p.tc.Failed() {
		return
	}
	p.setKey(p.key(v), ts)
	if err := p.fn(&p.ctx, v, p.out); err != nil {
		p.tc.Fail(err)
	}
}

func (p *keyedProcessOp[T, K, S, Out]) setKey(k K, ts int64) {
	p.ctx.key, p.ctx.ts = k, ts
	p.backend.SetCurrentKey(k)
}

// StateEntries returns the number of keys with a value (for tests and
// metrics).
func (p *keyedProcessOp[T, K, S, Out]) StateEntries() int { return len(p.backend.Keys("value")) }

// SnapshotState snapshots the keys' values and timers by key group.
func (p *keyedProcessOp[T, K, S, Out]) SnapshotState(int64) (*OperatorState, error) {
	return keyedSnapshot(p.backend)
}

// Close releases the state backend.
func (p *keyedProcessOp[T, K, S, Out]) Close() error { return closeKeyed(p.backend) }

// RestoreState takes back the values and timers of this subtask's keys.
func (p *keyedProcessOp[T, K, S, Out]) RestoreState(parts []*OperatorState) error {
	if err := restoreKeyed(p.backend, parts); err != nil {
		return err
	}
	return p.ctx.timers.restore()
}
