package operators

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/troupe-dev/troupe/operators/window"
)

// WindowContext is given to window functions with each firing, as
// Flink's ProcessWindowFunction.Context: the key, the window, the
// subtask's times, side outputs (Output, with the window's last
// timestamp), and two kinds of keyed state — WindowState, the key's state
// in this window, and GlobalState, the key's state across its windows. It
// is valid only during the call.
type WindowContext[K comparable] struct {
	key       K
	w         window.Window
	wm        *int64
	global    stateScope[K]
	perWindow stateScope[K]
	// Task is the operator's subtask, for its logger and SideOutput.
	Task *TaskContext
}

// Key returns the key of the window.
func (c *WindowContext[K]) Key() K { return c.key }

// Window returns the window that fires.
func (c *WindowContext[K]) Window() window.Window { return c.w }

// CurrentWatermark returns the operator's input watermark.
func (c *WindowContext[K]) CurrentWatermark() int64 { return *c.wm }

// ProcessingTime returns the subtask's processing-time clock.
func (c *WindowContext[K]) ProcessingTime() time.Time { return c.Task.Now() }

// Output emits r to its side output, with the window's last timestamp.
func (c *WindowContext[K]) Output(r SideRecord) { r.emit(c.Task, c.w.MaxTimestamp()) }

// WindowState returns the store of the key's state in the window firing
// (Flink's windowState()): what a function keeps there is the window's
// own, across its firings (with allowed lateness, or early triggers), and
// goes when the window's state is cleaned up. Merging windows (sessions)
// have none: getting a state from it fails with ErrWindowStateMerging.
func (c *WindowContext[K]) WindowState() StateStore[K] { return scopeStore[K]{&c.perWindow} }

// GlobalState returns the store of the key's state across its windows
// (Flink's globalState()).
func (c *WindowContext[K]) GlobalState() StateStore[K] { return scopeStore[K]{&c.global} }

// scopeStore is a StateStore over a scope of its own.
type scopeStore[K comparable] struct{ sc *stateScope[K] }

func (s scopeStore[K]) stateScope() *stateScope[K] { return s.sc }

// ReduceWindow reduces each window's records with fn as they come (one
// value of state per window) and emits the reduction when the window
// fires. Session windows merge with fn too.
func ReduceWindow[T any, K comparable](ws WindowedStream[T, K], fn func(acc, v T) T) Stream[T] {
	if ws.cfg.evictor != nil {
		return windowNode(ws, "window-reduce", false, fn == nil, evictingFn(ws,
			func(_ *WindowContext[K], elems []T, out Collector[T]) error {
				if len(elems) == 0 { // evicted: nothing to reduce
					return nil
				}
				acc := elems[0]
				for _, v := range elems[1:] {
					acc = fn(acc, v)
				}
				out.Collect(acc, 0)
				return nil
			}))
	}
	return windowNode(ws, "window-reduce", false, fn == nil, windowFn[T, K, T, T]{
		add: func(acc T, ok bool, v T, _ int64) T {
			if !ok {
				return v
			}
			return fn(acc, v)
		},
		merge: fn,
		emit: func(_ *WindowContext[K], acc T, out Collector[T]) (T, error) {
			out.Collect(acc, 0)
			return acc, nil
		},
		contents: func(elem Codec[T]) Codec[T] { return elem },
	})
}

// AggregateFunc is an incremental aggregation, as Flink's
// AggregateFunction: Create makes an empty accumulator, Add adds an input
// to one, Merge combines two (merging windows need it; elsewhere it may
// be nil) and Result turns one into the output. Aggregate makes one with
// its types inferred.
type AggregateFunc[In, Acc, Out any] struct {
	Create func() Acc
	Add    func(acc Acc, in In) Acc
	Merge  func(a, b Acc) Acc
	Result func(acc Acc) Out
}

// Aggregate returns the aggregation of its functions, with its types
// inferred from them; merge may be nil where nothing merges:
//
//	avg := operators.Aggregate(
//		func() avgAcc { return avgAcc{} },
//		func(a avgAcc, v float64) avgAcc { return avgAcc{a.Sum + v, a.N + 1} },
//		func(a, b avgAcc) avgAcc { return avgAcc{a.Sum + b.Sum, a.N + b.N} },
//		func(a avgAcc) float64 { return a.Sum / float64(a.N) })
func Aggregate[In, Acc, Out any](create func() Acc, add func(acc Acc, in In) Acc, merge func(a, b Acc) Acc, result func(acc Acc) Out) AggregateFunc[In, Acc, Out] {
	return AggregateFunc[In, Acc, Out]{Create: create, Add: add, Merge: merge, Result: result}
}

// missing reports whether a required function is nil.
func (a AggregateFunc[In, Acc, Out]) missing() bool {
	return a.Create == nil || a.Add == nil || a.Result == nil
}

// AggregateWindow aggregates each window's records incrementally (one
// accumulator of state per window) and emits agg.Result when the window
// fires.
func AggregateWindow[T any, K comparable, Acc, Out any](ws WindowedStream[T, K], agg AggregateFunc[T, Acc, Out]) Stream[Out] {
	return aggregateWindow(ws, agg, false, func(_ *WindowContext[K], r Out, out Collector[Out]) error {
		out.Collect(r, 0)
		return nil
	})
}

// WindowResultFunc is called when a window fires with the result of its
// incremental aggregation, and the window's context: the key, the window,
// its states and side outputs (Flink's ProcessWindowFunction after an
// AggregateFunction). Every record it collects gets the window's last
// timestamp; an error fails the subtask.
type WindowResultFunc[R any, K comparable, Out any] func(ctx *WindowContext[K], result R, out Collector[Out]) error

// AggregateWindowWith aggregates each window's records incrementally, as
// AggregateWindow, and when the window fires hands the result to fn with
// the window's context, as Flink's aggregate(aggFn, windowFn): the key and
// window come with the result without keeping every record.
func AggregateWindowWith[T any, K comparable, Acc, R, Out any](ws WindowedStream[T, K], agg AggregateFunc[T, Acc, R], fn WindowResultFunc[R, K, Out]) Stream[Out] {
	return aggregateWindow(ws, agg, fn == nil, fn)
}

func aggregateWindow[T any, K comparable, Acc, R, Out any](ws WindowedStream[T, K], agg AggregateFunc[T, Acc, R], nilFn bool, fn WindowResultFunc[R, K, Out]) Stream[Out] {
	missing := nilFn || agg.missing()
	if ws.cfg.evictor != nil {
		return windowNode(ws, "window-aggregate", true, missing, evictingFn(ws,
			func(ctx *WindowContext[K], elems []T, out Collector[Out]) error {
				acc := agg.Create()
				for _, v := range elems {
					acc = agg.Add(acc, v)
				}
				return fn(ctx, agg.Result(acc), out)
			}))
	}
	s := windowNode(ws, "window-aggregate", true, missing, windowFn[T, K, Acc, Out]{
		add: func(acc Acc, ok bool, v T, _ int64) Acc {
			if !ok {
				acc = agg.Create()
			}
			return agg.Add(acc, v)
		},
		merge: agg.Merge,
		emit: func(ctx *WindowContext[K], acc Acc, out Collector[Out]) (Acc, error) {
			return acc, fn(ctx, agg.Result(acc), out)
		},
	})
	// The accumulators are the window's contents, kept in state with JSON.
	if err := checkLossless[Acc]("export its fields"); err != nil {
		s.n.p.fail(s.n, fmt.Errorf("accumulator: %w", err))
	}
	return s
}

// WindowProcessFunc is called when a window fires with all of its records
// in arrival order (after eviction, which may leave none), and the
// window's context. elems is valid only during the call. Every record it
// collects gets the window's last timestamp; an error fails the subtask.
type WindowProcessFunc[T any, K comparable, Out any] func(ctx *WindowContext[K], elems []T, out Collector[Out]) error

// ProcessWindow keeps every record of each window and calls fn when the
// window fires, as Flink's ProcessWindowFunction. fn may keep per-window
// and per-key state (ctx.WindowState, ctx.GlobalState) and emit to any
// side output (ctx.Output) that GetSideOutput requests from the returned
// stream.
func ProcessWindow[T any, K comparable, Out any](ws WindowedStream[T, K], fn WindowProcessFunc[T, K, Out]) Stream[Out] {
	if ws.cfg.evictor != nil {
		return windowNode(ws, "window-process", true, fn == nil, evictingFn(ws, fn))
	}
	return windowNode(ws, "window-process", true, fn == nil, listFn(fn))
}

// windowFn is what a window function contributes to the operator: how a
// window's contents (Acc) grow, merge and are emitted.
type windowFn[T any, K comparable, Acc, Out any] struct {
	add   func(acc Acc, ok bool, v T, ts int64) Acc
	merge func(a, b Acc) Acc // nil: the contents cannot merge
	// emit emits the contents and returns what to keep of them.
	emit func(ctx *WindowContext[K], acc Acc, out Collector[Out]) (Acc, error)
	// empty reports whether kept contents hold nothing, so that the
	// window's state goes; nil when they never become empty.
	empty func(Acc) bool
	// contents returns the codec of the contents in state, given the
	// records' (the input stream's) codec, for contents made of records;
	// nil for an accumulator of the user's, encoded with JSON.
	contents func(elem Codec[T]) Codec[Acc]
}

// listContents is the codec of a window's records kept as a list: the
// stream's codec for each record, or one JSON array on the default
// codec, as the contents always were, so that earlier snapshots restore.
func listContents[T any](elem Codec[T]) Codec[[]T] {
	if isJSON(elem) {
		return JSONCodec[[]T]{}
	}
	return listCodec[T]{elem: elem}
}

// timestampedContents is listContents for records kept with their
// timestamps (evicting windows).
func timestampedContents[T any](elem Codec[T]) Codec[[]window.TimestampedValue[T]] {
	if isJSON(elem) {
		return JSONCodec[[]window.TimestampedValue[T]]{}
	}
	return listCodec[window.TimestampedValue[T]]{elem: timestampedCodec[T]{elem: elem}}
}

// timestampedCodec encodes a record with its timestamp: a zig-zag
// varint, then the record with its codec.
type timestampedCodec[T any] struct{ elem Codec[T] }

func (c timestampedCodec[T]) Append(dst []byte, v window.TimestampedValue[T]) ([]byte, error) {
	return c.elem.Append(binary.AppendVarint(dst, v.Timestamp), v.Value)
}

func (c timestampedCodec[T]) Decode(b []byte) (window.TimestampedValue[T], error) {
	ts, k := binary.Varint(b)
	if k <= 0 {
		return window.TimestampedValue[T]{}, fmt.Errorf("%w: record timestamp", ErrDecode)
	}
	v, err := c.elem.Decode(b[k:])
	return window.TimestampedValue[T]{Value: v, Timestamp: ts}, err
}

// listFn keeps every record of a window and hands them to apply when it
// fires.
func listFn[T any, K comparable, Out any](apply func(*WindowContext[K], []T, Collector[Out]) error) windowFn[T, K, []T, Out] {
	return windowFn[T, K, []T, Out]{
		add:   func(acc []T, _ bool, v T, _ int64) []T { return append(acc, v) },
		merge: func(a, b []T) []T { return append(a, b...) },
		emit: func(ctx *WindowContext[K], acc []T, out Collector[Out]) ([]T, error) {
			if len(acc) == 0 {
				return acc, nil
			}
			return acc, apply(ctx, acc, out)
		},
		contents: listContents[T],
	}
}

// evictingFn keeps every record of a window with its timestamp and, when
// the window fires, evicts before apply, runs apply on the values left,
// and evicts after it, as Flink's EvictingWindowOperator: what is left
// stays as the window's contents.
func evictingFn[T any, K comparable, Out any](ws WindowedStream[T, K], apply func(*WindowContext[K], []T, Collector[Out]) error) windowFn[T, K, []window.TimestampedValue[T], Out] {
	ev, _ := elementEvictor[T](ws.cfg.evictor) // an error fails the build (resolve)
	type elems = []window.TimestampedValue[T]
	return windowFn[T, K, elems, Out]{
		add: func(acc elems, _ bool, v T, ts int64) elems {
			return append(acc, window.TimestampedValue[T]{Value: v, Timestamp: ts})
		},
		merge: func(a, b elems) elems { return append(a, b...) },
		emit: func(ctx *WindowContext[K], acc elems, out Collector[Out]) (elems, error) {
			if ev == nil {
				return acc, nil
			}
			acc = window.Evict(ev, acc, ctx.w, false)
			values := make([]T, len(acc))
			for i, e := range acc {
				values[i] = e.Value
			}
			if err := apply(ctx, values, out); err != nil {
				return acc, err
			}
			return window.Evict(ev, acc, ctx.w, true), nil
		},
		empty:    func(acc elems) bool { return len(acc) == 0 },
		contents: timestampedContents[T],
	}
}

// windowNode adds the window operator running fn to the pipeline.
func windowNode[T any, K comparable, Acc, Out any](ws WindowedStream[T, K], kind string, anySide, nilFn bool, fn windowFn[T, K, Acc, Out]) Stream[Out] {
	return windowNodeOf(ws, kind, anySide, nilFn, fn.merge != nil, fn.contents, func() (windowFn[T, K, Acc, Out], any) { return fn, nil })
}

// windowNodeOf adds the window operator running the function perTask
// makes for each subtask, with the user's function value to open and
// close (nil for none); canMerge says whether its contents merge, and
// contents how they are encoded (see windowFn.contents).
func windowNodeOf[T any, K comparable, Acc, Out any](ws WindowedStream[T, K], kind string, anySide, nilFn, canMerge bool,
	contents func(Codec[T]) Codec[Acc], perTask func() (windowFn[T, K, Acc, Out], any)) Stream[Out] {
	n := keyedNode[T, K, Out](ws.ks, kind)
	n.anySide = anySide
	spec, err := ws.resolve()
	switch {
	case err != nil:
		n.p.fail(n, err)
	case nilFn:
		n.p.fail(n, ErrNilFunc)
	case spec.merging && !canMerge:
		n.p.fail(n, fmt.Errorf("%w: merging windows (%v) need a Merge function", ErrWindow, ws.assigner))
	case spec.hasLate:
		declareSide(n, spec.late)
	}
	if contents != nil {
		recordsInState(n, ws.ks.s, "window contents")
	}
	n.open = func(tc *TaskContext, out any) (*instance, error) {
		var codec Codec[Acc] = JSONCodec[Acc]{} // an accumulator: checked by aggregateWindow
		if contents != nil {
			codec = contents(CodecOf(ws.ks.s))
		}
		fn, user := perTask()
		op, err := newWindowOp(tc, ws.ks.key, spec, fn, codec, out.(Collector[Out]))
		if err != nil {
			return nil, err
		}
		if user != nil {
			op.user = userFunc{user}
			if err := openKeyedFunc(user, tc, &op.ctx.global); err != nil {
				return nil, errors.Join(err, op.Close())
			}
		}
		return &instance{inputs: []any{Collector[T](op)}, hooks: op}, nil
	}
	return newStream[Out](n)
}
