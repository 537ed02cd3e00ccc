package operators

// CoProcessFuncs are the functions of a keyed operator on two connected
// streams with the same key: Process1 handles the first stream's records,
// Process2 the second's, both with access to the key's state (one value of
// type S shared by both inputs) and timers; OnTimer (optional) runs when a
// timer fires. Any error fails the subtask.
type CoProcessFuncs[K comparable, A, B, S, Out any] struct {
	Process1 KeyedProcessFunc[K, A, S, Out]
	Process2 KeyedProcessFunc[K, B, S, Out]
	OnTimer  KeyedTimerFunc[K, S, Out]
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
func ProcessConnected[A, B any, K comparable, S, Out any](a KeyedStream[A, K], b KeyedStream[B, K], fns CoProcessFuncs[K, A, B, S, Out]) Stream[Out] {
	n := connectedNode(a, b, "co-process", func(*TaskContext) (CoProcessFuncs[K, A, B, S, Out], lateCounter) {
		return fns, nil
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

// connectedNode adds a keyed operator on two connected streams, which
// runs the functions perTask makes for each of its subtasks. perTask may
// also return the subtask's late-record counter.
func connectedNode[A, B any, K comparable, S, Out any](a KeyedStream[A, K], b KeyedStream[B, K], kind string,
	perTask func(tc *TaskContext) (CoProcessFuncs[K, A, B, S, Out], lateCounter)) *node {
	n := keyedNode[A, K, Out](a, kind)
	connect(b.s, n)
	n.noChain, n.anySide, n.multiInput = true, true, true
	if b.key == nil {
		n.p.fail(n, ErrNoKeyFunc)
	}
	n.open = func(tc *TaskContext, out any) (*instance, error) {
		fns, late := perTask(tc)
		op, err := newKeyedProcessOp(tc, a.key, fns.Process1, out.(Collector[Out]))
		if err != nil {
			return nil, err
		}
		op.onTimer = fns.OnTimer
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
			hooks = &lateCountingOp[A, K, S, Out]{keyedProcessOp: op, lateCounter: late}
		}
		return &instance{inputs: []any{Collector[A](op), Collector[B](second)}, hooks: hooks}, nil
	}
	return n
}

// lateCountingOp is a keyed operator's hooks with a late-record counter.
type lateCountingOp[T any, K comparable, S, Out any] struct {
	*keyedProcessOp[T, K, S, Out]
	lateCounter
}
