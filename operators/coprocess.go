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
func ProcessConnected[A, B any, K comparable, S, Out any](a KeyedStream[A, K], b KeyedStream[B, K], fns CoProcessFuncs[K, A, B, S, Out]) Stream[Out] {
	n := keyedNode[A, K, Out](a, "co-process")
	connect(b.s, n)
	n.noChain, n.anySide, n.multiInput = true, true, true
	if b.key == nil {
		n.p.fail(n, ErrNoKeyFunc)
	}
	if fns.Process1 == nil || fns.Process2 == nil {
		n.p.fail(n, ErrNilFunc)
	}
	n.open = func(tc *TaskContext, out any) (*instance, error) {
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
		return &instance{inputs: []any{Collector[A](op), Collector[B](second)}, hooks: op}, nil
	}
	return newStream[Out](n)
}
