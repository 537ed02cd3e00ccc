package operators

import "fmt"

// either carries a record of one of two joined streams through the window
// that pairs them.
type either[A, B any] struct {
	A *A `json:"a,omitempty"`
	B *B `json:"b,omitempty"`
}

// WindowJoin pairs the records of two keyed streams that share a key and
// a window: when a window fires, fn is called for every (a, b) of that key
// in it — the inner join of Flink's join().where().equalTo().window().
// Pairs are emitted with the window's last timestamp. Options are those of
// Window (trigger, allowed lateness, late output is not supported here).
func WindowJoin[A, B any, K comparable, Out any](a KeyedStream[A, K], b KeyedStream[B, K], assigner WindowAssigner, fn func(A, B) Out, opts ...WindowOption) Stream[Out] {
	left := Map(a.s, func(v A) either[A, B] { return either[A, B]{A: &v} })
	right := Map(b.s, func(v B) either[A, B] { return either[A, B]{B: &v} })
	keyA, keyB := a.key, b.key
	tagged := KeyBy(Union(left, right), func(e either[A, B]) K {
		if e.A != nil {
			return keyA(*e.A)
		}
		return keyB(*e.B)
	})
	out := ProcessWindow(Window(tagged, assigner, opts...), func(_ *WindowContext[K], elems []either[A, B], out Collector[Out]) error {
		for _, l := range elems {
			if l.A == nil {
				continue
			}
			for _, r := range elems {
				if r.B != nil {
					out.Collect(fn(*l.A, *r.B), NoTimestamp)
				}
			}
		}
		return nil
	})
	if fn == nil || keyA == nil || keyB == nil {
		out.n.p.fail(out.n, fmt.Errorf("window join: %w", ErrNilFunc))
	}
	return out
}
