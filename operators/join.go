package operators

import (
	"fmt"
	"time"
)

// IntervalJoin joins two keyed streams on key and time: each a is paired
// with every b of the same key whose timestamp lies in [a.ts + lower,
// a.ts + upper] (lower ≤ upper, either may be negative), as Flink's
// interval join; the pair is emitted with the later of the two
// timestamps. Records wait in keyed state until the watermark says no
// partner can come any more, then they are cleared by a timer. Records
// without a timestamp fail the subtask.
//
// A record that arrives late (at or below the watermark) is still joined
// with the partners left in state but not stored, so pairs with partners
// already cleared are missing: give the streams enough out-of-orderness.
func IntervalJoin[A, B any, K comparable, Out any](a KeyedStream[A, K], b KeyedStream[B, K], lower, upper time.Duration, fn func(A, B) Out) Stream[Out] {
	lo, hi := lower.Milliseconds(), upper.Milliseconds()
	j := &intervalJoin[A, B, K, Out]{lo: lo, hi: hi, fn: fn}
	s := ProcessConnected(a, b, CoProcessFuncs[K, A, B, joinBuffers[A, B], Out]{
		Process1: j.left, Process2: j.right, OnTimer: j.cleanup,
	})
	if lo > hi || fn == nil {
		s.n.p.fail(s.n, fmt.Errorf("%w: interval join needs lower ≤ upper (%v, %v) and a function", ErrNilFunc, lower, upper))
	}
	s.n.name = fmt.Sprintf("interval-join-%d", s.n.id)
	return s
}

// joinBuffers are a key's records waiting for partners, by timestamp.
type joinBuffers[A, B any] struct {
	Left  map[int64][]A `json:"left,omitempty"`
	Right map[int64][]B `json:"right,omitempty"`
}

type intervalJoin[A, B any, K comparable, Out any] struct {
	lo, hi int64
	fn     func(A, B) Out
}

type joinCtx[A, B any, K comparable] = KeyedContext[K, joinBuffers[A, B]]

// buffers returns the key's buffers. Changes to them must be written back
// with Update: a state backend other than the heap stores a copy.
func buffers[A, B any, K comparable](ctx *joinCtx[A, B, K]) joinBuffers[A, B] {
	bufs, _ := ctx.State().Value()
	if bufs.Left == nil { // none yet, or decoded without (omitempty)
		bufs.Left = map[int64][]A{}
	}
	if bufs.Right == nil {
		bufs.Right = map[int64][]B{}
	}
	return bufs
}

func (j *intervalJoin[A, B, K, Out]) left(ctx *joinCtx[A, B, K], v A, out Collector[Out]) error {
	return arrive(ctx, "first", v, j.lo, j.hi, j.hi, bufsLeft[A, B], bufsRight[A, B],
		func(w B, ts int64) { out.Collect(j.fn(v, w), ts) })
}

func (j *intervalJoin[A, B, K, Out]) right(ctx *joinCtx[A, B, K], w B, out Collector[Out]) error {
	return arrive(ctx, "second", w, -j.hi, -j.lo, -j.lo, bufsRight[A, B], bufsLeft[A, B],
		func(v A, ts int64) { out.Collect(j.fn(v, w), ts) })
}

func bufsLeft[A, B any](b joinBuffers[A, B]) map[int64][]A  { return b.Left }
func bufsRight[A, B any](b joinBuffers[A, B]) map[int64][]B { return b.Right }

// arrive handles record x of one side at the context's timestamp ts: it
// is paired with every record of the other side timed in [ts+from,
// ts+to] (the pair gets the later time), then, unless late, stored on its
// side until a timer at ts+keep clears it.
func arrive[A, B any, K comparable, X, Y any](ctx *joinCtx[A, B, K], side string, x X, from, to, keep int64,
	mine func(joinBuffers[A, B]) map[int64][]X, theirs func(joinBuffers[A, B]) map[int64][]Y, pair func(Y, int64)) error {
	ts := ctx.Timestamp()
	if ts == NoTimestamp {
		return fmt.Errorf("interval join: a record of the %s stream has no timestamp", side)
	}
	bufs := buffers(ctx)
	for yts, ys := range theirs(bufs) {
		if yts >= ts+from && yts <= ts+to {
			for _, y := range ys {
				pair(y, max(ts, yts))
			}
		}
	}
	if ts > ctx.CurrentWatermark() {
		m := mine(bufs)
		m[ts] = append(m[ts], x)
		ctx.State().Update(bufs)
		ctx.RegisterEventTimer(ts + keep)
	}
	return nil
}

// cleanup drops the records no future partner can match: a left record
// once the watermark reaches ts + upper, a right one at ts - lower.
func (j *intervalJoin[A, B, K, Out]) cleanup(ctx *joinCtx[A, B, K], t Timer, _ Collector[Out]) error {
	bufs := buffers(ctx)
	for ts := range bufs.Left {
		if ts+j.hi <= t.Time {
			delete(bufs.Left, ts)
		}
	}
	for ts := range bufs.Right {
		if ts-j.lo <= t.Time {
			delete(bufs.Right, ts)
		}
	}
	if len(bufs.Left) == 0 && len(bufs.Right) == 0 {
		ctx.State().Clear()
	} else {
		ctx.State().Update(bufs)
	}
	return nil
}
