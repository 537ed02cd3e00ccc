package operators

import (
	"errors"
	"fmt"
	"time"

	"github.com/troupe-dev/troupe/persistence"
)

// IntervalJoin joins two keyed streams on key and time: each a is paired
// with every b of the same key whose timestamp lies in [a.ts + lower,
// a.ts + upper] (lower ≤ upper, either may be negative, both whole
// milliseconds; Build refuses others with ErrJoinBounds), as Flink's
// interval join; the pair is emitted with the later of the two
// timestamps. Records wait in keyed state until the watermark says no
// partner can come any more, then they are cleared by a timer. Records
// without a timestamp fail the subtask.
//
// A record whose timestamp is below the watermark is late, as in Flink's
// IntervalJoinOperator (one exactly at the watermark is not): it is not
// joined, and goes to the late side output of its stream if set
// (WithLeftLateOutput, WithRightLateOutput), otherwise it is dropped and
// counted (Chain.LateRecordsDropped). JoinLateRecords restores troupe's
// former rule.
func IntervalJoin[A, B any, K comparable, Out any](a KeyedStream[A, K], b KeyedStream[B, K], lower, upper time.Duration, fn func(A, B) Out, opts ...IntervalJoinOption) Stream[Out] {
	var process ProcessJoinFunc[A, B, K, Out]
	if fn != nil {
		process = func(ctx *JoinContext[K], a A, b B, out Collector[Out]) error {
			out.Collect(fn(a, b), ctx.Timestamp())
			return nil
		}
	}
	return IntervalJoinProcess(a, b, lower, upper, process, opts...)
}

// ProcessJoinFunc is called by an interval join for every pair, with the
// pair's context, as Flink's ProcessJoinFunction: it may emit any number
// of records (with the pair's timestamp, ctx.Timestamp(), or another),
// emit to side outputs, and keep named state of the key; an error fails
// the subtask.
type ProcessJoinFunc[A, B any, K comparable, Out any] func(ctx *JoinContext[K], a A, b B, out Collector[Out]) error

// JoinContext is given to a ProcessJoinFunc with each pair, as Flink's
// ProcessJoinFunction.Context: the key, the two records' timestamps and
// the pair's (the later one), the watermark, side outputs, and the key's
// named state (it is a StateStore). It is valid only during the call.
type JoinContext[K comparable] struct {
	kc          *KeyedContext[K]
	left, right int64
}

// Key returns the key of the pair.
func (c *JoinContext[K]) Key() K { return c.kc.Key() }

// LeftTimestamp returns the timestamp of the first stream's record.
func (c *JoinContext[K]) LeftTimestamp() int64 { return c.left }

// RightTimestamp returns the timestamp of the second stream's record.
func (c *JoinContext[K]) RightTimestamp() int64 { return c.right }

// Timestamp returns the pair's timestamp: the later of the two.
func (c *JoinContext[K]) Timestamp() int64 { return max(c.left, c.right) }

// CurrentWatermark returns the operator's input watermark.
func (c *JoinContext[K]) CurrentWatermark() int64 { return c.kc.CurrentWatermark() }

// Output emits r to its side output, with the pair's timestamp.
func (c *JoinContext[K]) Output(r SideRecord) { r.emit(c.kc.Task, c.Timestamp()) }

func (c *JoinContext[K]) stateScope() *stateScope[K] { return c.kc.scope }

// IntervalJoinProcess is IntervalJoin with a function that gets each
// pair's context: the records' timestamps, side outputs and named state.
func IntervalJoinProcess[A, B any, K comparable, Out any](a KeyedStream[A, K], b KeyedStream[B, K], lower, upper time.Duration,
	fn ProcessJoinFunc[A, B, K, Out], opts ...IntervalJoinOption) Stream[Out] {
	j := &intervalJoin[A, B, K, Out]{lo: lower.Milliseconds(), hi: upper.Milliseconds(), fn: fn}
	boundsErr := joinBounds(lower, upper)
	for _, o := range opts {
		if o != nil {
			o(&j.cfg)
		}
	}
	n := connectedNode(a, b, "interval-join", func(tc *TaskContext, op *keyedProcessOp[A, K, Out]) (coTask[A, B, K, Out], error) {
		t, err := j.open(tc, op.backend, joinBuffersOf(CodecOf(a.s), CodecOf(b.s)))
		if err != nil {
			return coTask[A, B, K, Out]{}, err
		}
		return coTask[A, B, K, Out]{fns: CoProcessFuncs[A, B, K, Out]{Process1: t.left, Process2: t.right, OnTimer: t.cleanup}, late: t}, nil
	})
	if boundsErr != nil {
		n.p.fail(n, boundsErr)
	}
	if fn == nil {
		n.p.fail(n, ErrNilFunc)
	}
	if err := j.lateTags(n); err != nil {
		n.p.fail(n, err)
	}
	recordsInState(n, a.s, "first stream's records")
	recordsInState(n, b.s, "second stream's records")
	return newStream[Out](n)
}

// joinBounds checks an interval join's bounds as given, before they
// become the milliseconds of event time: each a whole number of
// milliseconds (a bound of 1.5ms truncated to 1ms would join records it
// excludes, as window sizes are refused for the same reason), and lower
// ≤ upper.
func joinBounds(lower, upper time.Duration) error {
	var errs []error
	for _, b := range []struct {
		name string
		d    time.Duration
	}{{"lower", lower}, {"upper", upper}} {
		if b.d%time.Millisecond != 0 {
			errs = append(errs, fmt.Errorf("%w: %s bound %v is not a whole number of milliseconds", ErrJoinBounds, b.name, b.d))
		}
	}
	if lower > upper {
		errs = append(errs, fmt.Errorf("%w: lower bound %v is above upper bound %v", ErrJoinBounds, lower, upper))
	}
	return errors.Join(errs...)
}

// IntervalJoinOption configures an interval join.
type IntervalJoinOption func(*intervalJoinConfig)

type intervalJoinConfig struct {
	leftLate, rightLate any // OutputTag[A], OutputTag[B]; nil for none
	joinLate            bool
}

// WithLeftLateOutput sends the late records of the first (left) stream
// to the side output tag, as Flink's sideOutputLeftLateData: get it with
// GetSideOutput on the join's result stream. The tag's type must be the
// first stream's.
func WithLeftLateOutput[A any](tag OutputTag[A]) IntervalJoinOption {
	return func(c *intervalJoinConfig) { c.leftLate = tag }
}

// WithRightLateOutput sends the late records of the second (right)
// stream to the side output tag, as Flink's sideOutputRightLateData.
func WithRightLateOutput[B any](tag OutputTag[B]) IntervalJoinOption {
	return func(c *intervalJoinConfig) { c.rightLate = tag }
}

// JoinLateRecords restores troupe's rule before it followed Flink: a
// record at or below the watermark is still joined with the partners
// left in state, but not stored (pairs with partners already cleared are
// missing), and nothing goes to the late outputs or is counted.
func JoinLateRecords() IntervalJoinOption {
	return func(c *intervalJoinConfig) { c.joinLate = true }
}

// joinBuffers are a key's records waiting for partners, by timestamp.
type joinBuffers[A, B any] struct {
	Left  map[int64][]A `json:"left,omitempty"`
	Right map[int64][]B `json:"right,omitempty"`
}

// intervalJoin is the join's configuration, shared by its subtasks.
type intervalJoin[A, B any, K comparable, Out any] struct {
	lo, hi int64
	fn     ProcessJoinFunc[A, B, K, Out]
	cfg    intervalJoinConfig
}

// lateTags checks the late output tags against the streams' types and
// declares them on the join's node.
func (j *intervalJoin[A, B, K, Out]) lateTags(n *node) error {
	if j.cfg.leftLate != nil {
		tag, ok := j.cfg.leftLate.(OutputTag[A])
		if !ok {
			return fmt.Errorf("left late output %T for records of type %T: %w", j.cfg.leftLate, *new(A), ErrSideOutputType)
		}
		declareSide(n, tag)
	}
	if j.cfg.rightLate != nil {
		tag, ok := j.cfg.rightLate.(OutputTag[B])
		if !ok {
			return fmt.Errorf("right late output %T for records of type %T: %w", j.cfg.rightLate, *new(B), ErrSideOutputType)
		}
		declareSide(n, tag)
	}
	return nil
}

// open returns the join's part of one subtask: its buffers in the
// subtask's keyed state ("interval-join", encoded with codec), its late
// outputs and counter.
func (j *intervalJoin[A, B, K, Out]) open(tc *TaskContext, states persistence.Backend[K], codec Codec[joinBuffers[A, B]]) (*joinTask[A, B, K, Out], error) {
	bufs, err := persistence.Value(states, persistence.ValueDescriptor[joinBuffers[A, B]]{Name: "interval-join",
		Codec: codec})
	if err != nil {
		return nil, err
	}
	t := &joinTask[A, B, K, Out]{intervalJoin: j, bufs: bufs}
	if tag, ok := j.cfg.leftLate.(OutputTag[A]); ok {
		t.leftLate, _ = sideCollector(tc, tag)
	}
	if tag, ok := j.cfg.rightLate.(OutputTag[B]); ok {
		t.rightLate, _ = sideCollector(tc, tag)
	}
	return t, nil
}

// joinTask is an interval join in one subtask.
type joinTask[A, B any, K comparable, Out any] struct {
	*intervalJoin[A, B, K, Out]
	bufs      *persistence.ValueState[joinBuffers[A, B]] // of the current key
	pair      JoinContext[K]                             // of the pair being emitted
	leftLate  Collector[A]                               // nil: late records are dropped and counted
	rightLate Collector[B]
	dropped   int64
}

// LateRecordsDropped returns how many late records had nowhere to go.
func (t *joinTask[A, B, K, Out]) LateRecordsDropped() int64 { return t.dropped }

func (t *joinTask[A, B, K, Out]) countLate() { t.dropped++ }

// buffers returns the current key's buffers. Changes to them must be
// written back with Update: a state backend other than the heap stores a
// copy.
func (t *joinTask[A, B, K, Out]) buffers() joinBuffers[A, B] {
	bufs, _ := t.bufs.Value()
	if bufs.Left == nil { // none yet, or decoded without (omitempty)
		bufs.Left = map[int64][]A{}
	}
	if bufs.Right == nil {
		bufs.Right = map[int64][]B{}
	}
	return bufs
}

// keepLeft and keepRight are how long after its own timestamp a record
// waits for partners: until the watermark reaches the last partner time,
// and at least its own time (Flink's cleanup times).
func (j *intervalJoin[A, B, K, Out]) keepLeft() int64  { return max(j.hi, 0) }
func (j *intervalJoin[A, B, K, Out]) keepRight() int64 { return max(-j.lo, 0) }

func (t *joinTask[A, B, K, Out]) left(ctx *KeyedContext[K], v A, out Collector[Out]) error {
	s := side[A, B, K, A, B]{name: "first", from: t.lo, to: t.hi, keep: t.keepLeft(), mine: bufsLeft[A, B], theirs: bufsRight[A, B],
		pair: func(w B, wts int64) error { return t.join(ctx, v, w, ctx.Timestamp(), wts, out) }, late: t.leftLate}
	return arrive(t, ctx, v, s)
}

func (t *joinTask[A, B, K, Out]) right(ctx *KeyedContext[K], w B, out Collector[Out]) error {
	s := side[A, B, K, B, A]{name: "second", from: -t.hi, to: -t.lo, keep: t.keepRight(), mine: bufsRight[A, B], theirs: bufsLeft[A, B],
		pair: func(v A, vts int64) error { return t.join(ctx, v, w, vts, ctx.Timestamp(), out) }, late: t.rightLate}
	return arrive(t, ctx, w, s)
}

// join calls the function for a pair of records timed vts and wts.
func (t *joinTask[A, B, K, Out]) join(ctx *KeyedContext[K], v A, w B, vts, wts int64, out Collector[Out]) error {
	t.pair = JoinContext[K]{kc: ctx, left: vts, right: wts}
	return t.fn(&t.pair, v, w, out)
}

func bufsLeft[A, B any](b joinBuffers[A, B]) map[int64][]A  { return b.Left }
func bufsRight[A, B any](b joinBuffers[A, B]) map[int64][]B { return b.Right }

// side describes the stream a record X arrived on, whose partners are Y:
// partners are timed in [ts+from, ts+to], and X waits keep past ts.
type side[A, B any, K comparable, X, Y any] struct {
	name           string
	from, to, keep int64
	mine           func(joinBuffers[A, B]) map[int64][]X
	theirs         func(joinBuffers[A, B]) map[int64][]Y
	pair           func(y Y, yts int64) error
	late           Collector[X] // nil: dropped and counted
}

// arrive handles record x of one side at the context's timestamp ts: a
// late record goes to its late output; another is paired with every
// record of the other side timed in [ts+from, ts+to] (the pair's
// timestamp is the later one), then stored on its side until a timer at ts+keep clears
// it.
func arrive[A, B any, K comparable, Out, X, Y any](t *joinTask[A, B, K, Out], ctx *KeyedContext[K], x X, s side[A, B, K, X, Y]) error {
	ts := ctx.Timestamp()
	if ts == NoTimestamp {
		return fmt.Errorf("interval join: a record of the %s stream has no timestamp", s.name)
	}
	wm := ctx.CurrentWatermark()
	late := ts < wm // Flink's IntervalJoinOperator.isLate
	if t.cfg.joinLate {
		late = ts <= wm
	} else if late {
		lateRecord(t, s.late, x, ts)
		return nil
	}
	bufs := t.buffers()
	for yts, ys := range s.theirs(bufs) {
		if yts >= ts+s.from && yts <= ts+s.to {
			for _, y := range ys {
				if err := s.pair(y, yts); err != nil {
					return err
				}
			}
		}
	}
	if !late {
		m := s.mine(bufs)
		m[ts] = append(m[ts], x)
		t.bufs.Update(bufs)
		ctx.RegisterEventTimer(ts + s.keep)
	}
	return nil
}

// lateRecord sends a late record to its side's late output, or counts it.
func lateRecord[X any](t interface{ countLate() }, late Collector[X], x X, ts int64) {
	if late == nil {
		t.countLate()
		return
	}
	late.Collect(x, ts)
}

// cleanup drops the records no future partner can match: those whose
// time plus their side's wait the timer has reached.
func (t *joinTask[A, B, K, Out]) cleanup(_ *KeyedContext[K], timer Timer, _ Collector[Out]) error {
	bufs := t.buffers()
	for ts := range bufs.Left {
		if ts+t.keepLeft() <= timer.Time {
			delete(bufs.Left, ts)
		}
	}
	for ts := range bufs.Right {
		if ts+t.keepRight() <= timer.Time {
			delete(bufs.Right, ts)
		}
	}
	if len(bufs.Left) == 0 && len(bufs.Right) == 0 {
		t.bufs.Clear()
	} else {
		t.bufs.Update(bufs)
	}
	return nil
}
