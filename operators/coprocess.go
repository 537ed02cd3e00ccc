package operators

import "errors"

// CoProcessFuncs are the functions of a keyed operator on two connected
// streams with the same key: Process1 handles the first stream's records,
// Process2 the second's, both with the key's context — its named states
// (shared by both inputs), timers and side outputs; OnTimer (optional)
// runs when a timer fires. Any error fails the subtask.
type CoProcessFuncs[A, B any, K comparable, Out any] struct {
	Process1 KeyedProcessFunc[A, K, Out]
	Process2 KeyedProcessFunc[B, K, Out]
	OnTimer  KeyedTimerFunc[K, Out]
}

// ProcessConnected connects two keyed streams with the same key type and
// runs fns on them: records of one key from both streams reach the same
// subtask (both are hashed by key group) and share that key's state, as
// Flink's connect + KeyedCoProcessFunction. It is how regular joins are
// written: each side stores what may match later and looks up what came
// before.
//
// The operator's watermark is the minimum over its two inputs, each the
// minimum over its own channels, and an idle input does not hold it back
// (Flink's CombinedWatermarkStatus; see docs/event-time.md).
func ProcessConnected[A, B any, K comparable, Out any](a KeyedStream[A, K], b KeyedStream[B, K], fns CoProcessFuncs[A, B, K, Out]) Stream[Out] {
	n := connectedNode(a, b, "co-process", func(*TaskContext, *keyedProcessOp[A, K, Out]) (coTask[A, B, K, Out], error) {
		return coTask[A, B, K, Out]{fns: fns}, nil
	})
	if fns.Process1 == nil || fns.Process2 == nil {
		n.p.fail(n, ErrNilFunc)
	}
	return newStream[Out](n)
}

// lateCounter is implemented by the per-subtask part of a two-input
// operator that drops late records (the interval join), so that the
// chain can report them (Chain.LateRecordsDropped).
type lateCounter interface {
	LateRecordsDropped() int64
}

// coTask is what a two-input keyed operator runs in one subtask: its
// functions, its late-record counter (nil for none) and the user's
// function value with its lifecycle (nil for none).
type coTask[A, B any, K comparable, Out any] struct {
	fns  CoProcessFuncs[A, B, K, Out]
	late lateCounter
	user any
}

// connectedNode adds a keyed operator on two connected streams, which
// runs what perTask makes for each of its subtasks, given the subtask's
// operator (its state backend, for state of its own).
func connectedNode[A, B any, K comparable, Out any](a KeyedStream[A, K], b KeyedStream[B, K], kind string,
	perTask func(tc *TaskContext, op *keyedProcessOp[A, K, Out]) (coTask[A, B, K, Out], error)) *node {
	n := keyedNode[A, K, Out](a, kind)
	connect(b.s, n)
	n.noChain, n.anySide, n.multiInput = true, true, true
	if b.key == nil {
		n.p.fail(n, ErrNoKeyFunc)
	}
	n.open = func(tc *TaskContext, out any) (*instance, error) {
		op, err := newKeyedProcessOp[A, K, Out](tc, a.key, nil, out.(Collector[Out]))
		if err != nil {
			return nil, err
		}
		task, err := perTask(tc, op)
		if err != nil {
			return nil, errors.Join(err, op.Close())
		}
		fns, late := task.fns, task.late
		op.fn, op.onTimer = fns.Process1, fns.OnTimer
		if task.user != nil {
			if err := op.openUser(task.user); err != nil {
				return nil, err
			}
		}
		second := CollectorFunc[B](func(v B, ts int64) {
			if tc.Failed() {
				return
			}
			op.setKey(b.key(v), ts)
			if err := fns.Process2(&op.ctx, v, op.out); err != nil {
				tc.Fail(err)
			}
		})
		var hooks any = op
		if late != nil {
			hooks = &lateCountingOp[A, K, Out]{keyedProcessOp: op, lateCounter: late}
		}
		return &instance{inputs: []any{Collector[A](op), Collector[B](second)}, hooks: hooks}, nil
	}
	return n
}

// lateCountingOp is a keyed operator's hooks with a late-record counter.
type lateCountingOp[T any, K comparable, Out any] struct {
	*keyedProcessOp[T, K, Out]
	lateCounter
}
