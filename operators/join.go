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
	ts := ctx.Timestamp()
	if ts == NoTimestamp {
		return fmt.Errorf("interval join: a record of the first stream has no timestamp")
	}
	bufs := buffers(ctx)
	for bts, bs := range bufs.Right {
		if bts >= ts+j.lo && bts <= ts+j.hi {
			for _, w := range bs {
				out.Collect(j.fn(v, w), max(ts, bts))
			}
		}
	}
	if ts > ctx.CurrentWatermark() {
		bufs.Left[ts] = append(bufs.Left[ts], v)
		ctx.State().Update(bufs)
		ctx.RegisterEventTimer(ts + j.hi)
	}
	return nil
}

func (j *intervalJoin[A, B, K, Out]) right(ctx *joinCtx[A, B, K], w B, out Collector[Out]) error {
	ts := ctx.Timestamp()
	if ts == NoTimestamp {
		return fmt.Errorf("interval join: a record of the second stream has no timestamp")
	}
	bufs := buffers(ctx)
	for ats, as := range bufs.Left {
		if ts >= ats+j.lo && ts <= ats+j.hi {
			for _, v := range as {
				out.Collect(j.fn(v, w), max(ts, ats))
			}
		}
	}
	if ts > ctx.CurrentWatermark() {
		bufs.Right[ts] = append(bufs.Right[ts], w)
		ctx.State().Update(bufs)
		ctx.RegisterEventTimer(ts - j.lo)
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
