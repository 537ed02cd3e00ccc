package operators

import (
	"errors"
	"fmt"

	"github.com/troupe-dev/troupe/persistence"
)

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
	// Keys are written into state and snapshots with JSON.
	if err := checkLossless[K]("key by a type JSON encodes whole (a string, or exported fields)"); err != nil {
		n.p.fail(n, fmt.Errorf("key: %w", err))
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
	recordsInState(n, ks.s, "running reductions")
	n.open = func(tc *TaskContext, out any) (*instance, error) {
		op := &reduceOp[T, K]{fn: fn, key: ks.key, out: out.(Collector[T]), keys: newKeyTable[K](), tc: tc, codec: CodecOf(ks.s)}
		op.outB = runsOf(op.out)
		return &instance{inputs: []any{Collector[T](op)}, hooks: op}, nil
	}
	return newStream[T](n)
}

type reduceOp[T any, K comparable] struct {
	fn    func(acc, v T) T
	key   func(T) K
	out   Collector[T]
	outB  batchCollector[T] // out's batch form; nil: record by record
	buf   []Element[T]      // the run it hands on (see batch_path.go)
	keys  keyTable[K]       // each key's index in vals
	vals  []T               // the running values, by key index: an update costs one probe
	tc    *TaskContext
	codec Codec[T] // the stream's: the running values are records
}

func (r *reduceOp[T, K]) Collect(v T, ts int64) { r.out.Collect(r.update(v), ts) }

func (r *reduceOp[T, K]) takesRuns() bool { return r.outB != nil }

func (r *reduceOp[T, K]) collectBatch(es []Element[T]) {
	buf := r.buf[:0]
	for i := range es {
		buf = append(buf, Element[T]{Value: r.update(es[i].Value), Timestamp: es[i].Timestamp})
	}
	r.buf = buf
	r.outB.collectBatch(buf)
}

// update folds v into its key's running value and returns the new one.
func (r *reduceOp[T, K]) update(v T) T {
	i, ok := r.keys.index(r.key(v))
	if !ok {
		r.vals = append(r.vals, v)
		return v
	}
	acc := &r.vals[i]
	*acc = r.fn(*acc, v)
	return *acc
}

// StateEntries returns the number of keys with state.
func (r *reduceOp[T, K]) StateEntries() int { return r.keys.len() }

// SnapshotState copies the running values into a state backend, which
// encodes them by key group: the hot path keeps its one probe of the key
// table per record, and a checkpoint pays for the copy.
func (r *reduceOp[T, K]) SnapshotState(int64) (*OperatorState, error) {
	b, value, err := r.backend()
	if err != nil {
		return nil, err
	}
	for i, v := range r.vals {
		b.SetCurrentKey(r.keys.key(i))
		value.Update(v)
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
	r.keys.reset()
	r.vals = r.vals[:0]
	for _, k := range b.Keys("reduce") {
		b.SetCurrentKey(k)
		v, _ := value.Value()
		if i, found := r.keys.index(k); found {
			r.vals[i] = v // a key given twice: the last one wins, as in a map
			continue
		}
		r.vals = append(r.vals, v)
	}
	return nil
}

func (r *reduceOp[T, K]) backend() (*persistence.HeapBackend[K], *persistence.ValueState[T], error) {
	b, err := newHeapKeyedBackend[K](r.tc) // a copy to encode: the state is r.vals
	if err != nil {
		return nil, nil, err
	}
	value, err := persistence.Value(b, persistence.ValueDescriptor[T]{Name: "reduce", Codec: r.codec})
	return b, value, err
}

// KeyedContext is given to a keyed process function with each record
// (and each timer): the key, the timestamp, the operator's times, timers,
// side outputs and the key's state. It is a StateStore: the named states a
// function gets from it (GetValueState, GetListState, …) act on the
// current key. It is valid only during the call.
type KeyedContext[K comparable] struct {
	key    K
	ts     int64
	timers *timerService[K]
	scope  *stateScope[K]
	// Task is the operator's subtask: its index, parallelism, logger.
	Task *TaskContext
}

// Key returns the key of the current record (or timer).
func (c *KeyedContext[K]) Key() K { return c.key }

// Timestamp returns the current record's event timestamp (or
// NoTimestamp); in a timer, the timer's time.
func (c *KeyedContext[K]) Timestamp() int64 { return c.ts }

// Output emits r to its side output, with the current timestamp.
func (c *KeyedContext[K]) Output(r SideRecord) { r.emit(c.Task, c.ts) }

func (c *KeyedContext[K]) stateScope() *stateScope[K] { return c.scope }

// KeyedProcessFunc handles one record of a keyed stream, with its
// context; an error fails the subtask.
type KeyedProcessFunc[T any, K comparable, Out any] func(ctx *KeyedContext[K], v T, out Collector[Out]) error

// ProcessKeyed runs fn on every record of a keyed stream. fn keeps keyed
// state through ctx (GetValueState and the others, any number of named
// states) and may emit to any side output (ctx.Output).
func ProcessKeyed[T any, K comparable, Out any](ks KeyedStream[T, K], fn KeyedProcessFunc[T, K, Out]) Stream[Out] {
	n := keyedNode[T, K, Out](ks, "process")
	n.anySide = true
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
// timer's time and the states act on its key.
type KeyedTimerFunc[K comparable, Out any] func(ctx *KeyedContext[K], timer Timer, out Collector[Out]) error

// ProcessKeyedWithTimers is ProcessKeyed with timers: fn may register
// event-time and processing-time timers for the current key through ctx,
// and onTimer runs when one fires (event-time timers when the watermark
// passes them, processing-time ones when the clock does). Timers are
// deduplicated per key and time.
func ProcessKeyedWithTimers[T any, K comparable, Out any](ks KeyedStream[T, K], fn KeyedProcessFunc[T, K, Out], onTimer KeyedTimerFunc[K, Out]) Stream[Out] {
	n := keyedNode[T, K, Out](ks, "process")
	n.anySide = true
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

type keyedProcessOp[T any, K comparable, Out any] struct {
	fn      KeyedProcessFunc[T, K, Out]
	onTimer KeyedTimerFunc[K, Out]
	key     func(T) K
	out     Collector[Out]
	tc      *TaskContext
	backend persistence.Backend[K]
	scope   stateScope[K]
	ctx     KeyedContext[K]
	user    userFunc // ProcessKeyedRich's function, closed with the operator
	// hold: timers fired by a watermark or the clock that wait for
	// credit (see outputHolder)
	hold firingHold
}

func newKeyedProcessOp[T any, K comparable, Out any](tc *TaskContext, key func(T) K, fn KeyedProcessFunc[T, K, Out], out Collector[Out]) (*keyedProcessOp[T, K, Out], error) {
	b, err := newKeyedBackend[K](tc)
	if err != nil {
		return nil, err
	}
	op := &keyedProcessOp[T, K, Out]{fn: fn, key: key, out: out, tc: tc, backend: b, scope: stateScope[K]{b: b}}
	op.ctx.Task, op.ctx.scope = tc, &op.scope
	if op.ctx.timers, err = newTimerService(tc, b); err != nil {
		_ = closeKeyed(b)
		return nil, err
	}
	return op, nil
}

func (p *keyedProcessOp[T, K, Out]) Collect(v T, ts int64) {
	if p.tc.Failed() {
		return
	}
	p.setKey(p.key(v), ts)
	if err := p.fn(&p.ctx, v, p.out); err != nil {
		p.tc.Fail(err)
	}
}

func (p *keyedProcessOp[T, K, Out]) setKey(k K, ts int64) {
	p.ctx.key, p.ctx.ts = k, ts
	p.backend.SetCurrentKey(k)
}

// StateEntries returns the number of (state, key) entries of the
// function's states (for tests and metrics).
func (p *keyedProcessOp[T, K, Out]) StateEntries() int {
	return p.backend.Entries() - len(p.backend.Keys("timers"))
}

// SnapshotState snapshots the keys' states and timers by key group.
func (p *keyedProcessOp[T, K, Out]) SnapshotState(int64) (*OperatorState, error) {
	return p.ctx.timers.snapshot()
}

// Close closes the function, then releases the state backend.
func (p *keyedProcessOp[T, K, Out]) Close() error {
	return errors.Join(p.user.Close(), closeKeyed(p.backend))
}

// RestoreState takes back the states and timers of this subtask's keys.
func (p *keyedProcessOp[T, K, Out]) RestoreState(parts []*OperatorState) error {
	if err := restoreKeyed(p.backend, parts); err != nil {
		return err
	}
	return p.ctx.timers.restore()
}
