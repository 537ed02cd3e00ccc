package operators

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime/debug"
	"time"

	"github.com/troupe-dev/troupe/operators/window"
)

// Functions with a lifecycle, as Flink's rich functions: a function
// value of the user's type, made once per subtask by a constructor the
// operator is given (newFn), may implement
//
//	Open(ctx *operators.RuntimeContext) error              // any operator
//	Open(ctx *operators.KeyedRuntimeContext[K]) error      // keyed operators: also gets state
//	Close() error
//
// Open runs when the subtask opens the operator, before its first record
// (and before its state is restored); it sees which subtask it is and may
// set up what the function needs — an HTTP client, a connection, its
// named states. Close runs once when the subtask ends for any reason,
// failure and cancel included, after the operator has stopped using the
// function. An error of either fails the subtask naming the operator; an
// error of Open — or a panic, which becomes a *PanicError — also closes
// the function and what the subtask had opened. The function's
// other methods run on the subtask's goroutine (an async function's calls
// run elsewhere, see AsyncFunction), so the value needs no locks for what
// it keeps.

// RuntimeContext is given to a function's Open, once per subtask, as
// Flink's RuntimeContext: which subtask of which operator it is, and the
// subtask's logger and clock.
type RuntimeContext struct {
	TaskInfo // Job, Operator, Subtask (0-based), Parallelism, MaxParallelism, Attempt
	Logger   *slog.Logger
	// Task is the operator's subtask.
	Task *TaskContext
}

// ProcessingTime returns the subtask's processing-time clock.
func (c *RuntimeContext) ProcessingTime() time.Time { return c.Task.Now() }

// KeyedRuntimeContext is the RuntimeContext of a keyed operator: it is a
// StateStore, so that Open gets the function's named states, which then
// act on the key of each record (or timer) the function handles.
type KeyedRuntimeContext[K comparable] struct {
	RuntimeContext
	scope *stateScope[K]
}

func (c *KeyedRuntimeContext[K]) stateScope() *stateScope[K] { return c.scope }

// Opener is implemented by functions that set up per subtask.
type Opener interface {
	Open(ctx *RuntimeContext) error
}

// KeyedOpener is implemented by functions of keyed operators that set up
// per subtask, getting their named states.
type KeyedOpener[K comparable] interface {
	Open(ctx *KeyedRuntimeContext[K]) error
}

func runtimeContext(tc *TaskContext) RuntimeContext {
	return RuntimeContext{TaskInfo: tc.TaskInfo, Logger: tc.Logger, Task: tc}
}

// openFunc opens fn, the function of a non-keyed operator, if it has an
// Open method.
func openFunc(fn any, tc *TaskContext) error {
	if o, ok := fn.(Opener); ok {
		rc := runtimeContext(tc)
		return callUser(func() error { return o.Open(&rc) })
	}
	return checkLifecycle(fn, "Open(*operators.RuntimeContext) error")
}

// openKeyedFunc opens fn, the function of a keyed operator with state
// scope sc, if it has an Open method.
func openKeyedFunc[K comparable](fn any, tc *TaskContext, sc *stateScope[K]) error {
	switch o := fn.(type) {
	case KeyedOpener[K]:
		rc := &KeyedRuntimeContext[K]{RuntimeContext: runtimeContext(tc), scope: sc}
		return callUser(func() error { return o.Open(rc) })
	case Opener:
		rc := runtimeContext(tc)
		return callUser(func() error { return o.Open(&rc) })
	}
	var k K
	return checkLifecycle(fn, fmt.Sprintf("Open(*operators.KeyedRuntimeContext[%T]) error", k))
}

// callUser runs fn, user code that an operator calls while it opens,
// and turns a panic into a *PanicError: the operator then closes what it
// had opened — its function, its state backend (a bbolt file) — as for
// an error, where a panic would leave them to no one (Flink closes every
// operator of a failed task, whatever its open did). The subtask fails
// with the error all the same.
func callUser(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return fn()
}

// closeFunc closes fn if it has a Close method.
func closeFunc(fn any) error {
	if c, ok := fn.(Closer); ok {
		return c.Close()
	}
	return nil
}

// checkLifecycle reports a function whose Open or Close method does not
// have the signature the operator calls: it would silently never run. It
// looks at the method set once per subtask, not per record.
func checkLifecycle(fn any, open string) error {
	if fn == nil {
		return nil
	}
	t := reflect.TypeOf(fn)
	var errs []error
	if _, ok := t.MethodByName("Open"); ok {
		errs = append(errs, fmt.Errorf("%w: %v has an Open method of another signature than %s", ErrLifecycle, t, open))
	}
	if _, ok := t.MethodByName("Close"); ok {
		if _, closer := fn.(Closer); !closer {
			errs = append(errs, fmt.Errorf("%w: %v has a Close method of another signature than Close() error", ErrLifecycle, t))
		}
	}
	return errors.Join(errs...)
}

// userFunc is a per-subtask function value with its lifecycle.
type userFunc struct{ fn any }

// Close closes the function: the operators holding one call it from
// their Close.
func (u userFunc) Close() error { return closeFunc(u.fn) }

// MapFunction is a function for MapRich.
type MapFunction[In, Out any] interface {
	Map(v In) (Out, error)
}

// MapRich is Map with a function made per subtask by newFn, which may
// implement Open and Close (see RuntimeContext); an error of Map fails
// the subtask.
func MapRich[In, Out any, F MapFunction[In, Out]](s Stream[In], newFn func() F) Stream[Out] {
	return richNode(s, "map", newFn, func(f F, tc *TaskContext, out Collector[Out]) Collector[In] {
		return CollectorFunc[In](func(v In, ts int64) {
			if tc.Failed() {
				return
			}
			o, err := f.Map(v)
			if err != nil {
				tc.Fail(err)
				return
			}
			out.Collect(o, ts)
		})
	})
}

// FilterFunction is a function for FilterRich.
type FilterFunction[T any] interface {
	Filter(v T) (bool, error)
}

// FilterRich is Filter with a function made per subtask by newFn (see
// MapRich).
func FilterRich[T any, F FilterFunction[T]](s Stream[T], newFn func() F) Stream[T] {
	return richNode(s, "filter", newFn, func(f F, tc *TaskContext, out Collector[T]) Collector[T] {
		return CollectorFunc[T](func(v T, ts int64) {
			if tc.Failed() {
				return
			}
			keep, err := f.Filter(v)
			if err != nil {
				tc.Fail(err)
				return
			}
			if keep {
				out.Collect(v, ts)
			}
		})
	})
}

// FlatMapFunction is a function for FlatMapRich.
type FlatMapFunction[In, Out any] interface {
	FlatMap(v In, emit func(Out)) error
}

// FlatMapRich is FlatMap with a function made per subtask by newFn (see
// MapRich).
func FlatMapRich[In, Out any, F FlatMapFunction[In, Out]](s Stream[In], newFn func() F) Stream[Out] {
	return richNode(s, "flatmap", newFn, func(f F, tc *TaskContext, out Collector[Out]) Collector[In] {
		var ts int64
		emit := func(v Out) { out.Collect(v, ts) }
		return CollectorFunc[In](func(v In, t int64) {
			if tc.Failed() {
				return
			}
			ts = t
			if err := f.FlatMap(v, emit); err != nil {
				tc.Fail(err)
			}
		})
	})
}

// ProcessFunction is a function for ProcessRich: ProcessFunc's method.
type ProcessFunction[In, Out any] interface {
	ProcessElement(ctx *ProcessContext, v In, out Collector[Out]) error
}

// ProcessElement calls f.
func (f ProcessFunc[In, Out]) ProcessElement(ctx *ProcessContext, v In, out Collector[Out]) error {
	return f(ctx, v, out)
}

// ProcessRich is Process with a function made per subtask by newFn,
// which may implement Open and Close (see RuntimeContext).
func ProcessRich[In, Out any, F ProcessFunction[In, Out]](s Stream[In], newFn func() F) Stream[Out] {
	n := s.n.p.addNode(kindOperator, "process", newStreamOps[Out]())
	n.anySide = true
	connect(s, n)
	if newFn == nil {
		n.p.fail(n, ErrNilFunc)
	}
	n.open = func(tc *TaskContext, out any) (*instance, error) {
		f := newFn()
		if err := openFunc(f, tc); err != nil {
			return nil, errors.Join(err, closeFunc(f))
		}
		op := &processOp[In, Out]{fn: f.ProcessElement, out: out.(Collector[Out]), ctx: ProcessContext{Task: tc, wm: MinWatermark},
			user: userFunc{f}}
		return &instance{inputs: []any{Collector[In](op)}, hooks: op}, nil
	}
	return newStream[Out](n)
}

// richNode adds an operator running the function newFn makes per subtask,
// through the collector adapt makes of it.
func richNode[In, Out, F any](s Stream[In], kind string, newFn func() F,
	adapt func(f F, tc *TaskContext, out Collector[Out]) Collector[In]) Stream[Out] {
	n := s.n.p.addNode(kindOperator, kind, newStreamOps[Out]())
	connect(s, n)
	if newFn == nil {
		n.p.fail(n, ErrNilFunc)
	}
	n.open = func(tc *TaskContext, out any) (*instance, error) {
		f := newFn()
		if err := openFunc(f, tc); err != nil {
			return nil, errors.Join(err, closeFunc(f))
		}
		in := adapt(f, tc, out.(Collector[Out]))
		return &instance{inputs: []any{in}, hooks: userFunc{f}}, nil
	}
	return newStream[Out](n)
}

// KeyedProcessFunction is a function for ProcessKeyedRich:
// KeyedProcessFunc's method. With OnTimer (a KeyedTimerFunction) it
// handles its timers too.
type KeyedProcessFunction[T any, K comparable, Out any] interface {
	ProcessElement(ctx *KeyedContext[K], v T, out Collector[Out]) error
}

// KeyedTimerFunction is implemented by keyed functions that handle the
// timers they register.
type KeyedTimerFunction[K comparable, Out any] interface {
	OnTimer(ctx *KeyedContext[K], t Timer, out Collector[Out]) error
}

// ProcessElement calls f.
func (f KeyedProcessFunc[T, K, Out]) ProcessElement(ctx *KeyedContext[K], v T, out Collector[Out]) error {
	return f(ctx, v, out)
}

// ProcessKeyedRich is ProcessKeyed (and ProcessKeyedWithTimers, if the
// function has an OnTimer method) with a function made per subtask by
// newFn, as Flink's KeyedProcessFunction: its Open may get its named
// states (GetValueState(ctx, …) on the KeyedRuntimeContext) and keep them
// in its fields; they act on each record's key.
func ProcessKeyedRich[T any, K comparable, Out any, F KeyedProcessFunction[T, K, Out]](ks KeyedStream[T, K], newFn func() F) Stream[Out] {
	n := keyedNode[T, K, Out](ks, "process")
	n.anySide = true
	if newFn == nil {
		n.p.fail(n, ErrNilFunc)
	}
	n.open = func(tc *TaskContext, out any) (*instance, error) {
		f := newFn()
		op, err := newKeyedProcessOp(tc, ks.key, f.ProcessElement, out.(Collector[Out]))
		if err != nil {
			return nil, err
		}
		if t, ok := any(f).(KeyedTimerFunction[K, Out]); ok {
			op.onTimer = t.OnTimer
		}
		if err := op.openUser(f); err != nil {
			return nil, err
		}
		return &instance{inputs: []any{Collector[T](op)}, hooks: op}, nil
	}
	return newStream[Out](n)
}

// openUser opens the operator's function f with its state, and keeps it
// for Close; if Open fails, the operator is closed.
func (p *keyedProcessOp[T, K, Out]) openUser(f any) error {
	p.user = userFunc{f}
	if err := openKeyedFunc(f, p.tc, &p.scope); err != nil {
		return errors.Join(err, p.Close())
	}
	return nil
}

// KeyedCoProcessFunction is a function for ProcessConnectedRich, as
// Flink's KeyedCoProcessFunction; with OnTimer (a KeyedTimerFunction) it
// handles its timers too.
type KeyedCoProcessFunction[A, B any, K comparable, Out any] interface {
	ProcessElement1(ctx *KeyedContext[K], a A, out Collector[Out]) error
	ProcessElement2(ctx *KeyedContext[K], b B, out Collector[Out]) error
}

// ProcessConnectedRich is ProcessConnected with a function made per
// subtask by newFn, which may implement Open (getting the named states
// both inputs share), Close and OnTimer.
func ProcessConnectedRich[A, B any, K comparable, Out any, F KeyedCoProcessFunction[A, B, K, Out]](a KeyedStream[A, K], b KeyedStream[B, K], newFn func() F) Stream[Out] {
	n := connectedNode(a, b, "co-process", func(tc *TaskContext, op *keyedProcessOp[A, K, Out]) (coTask[A, B, K, Out], error) {
		var f F
		if err := callUser(func() error { f = newFn(); return nil }); err != nil { // op's backend is open
			return coTask[A, B, K, Out]{}, err
		}
		fns := CoProcessFuncs[A, B, K, Out]{Process1: f.ProcessElement1, Process2: f.ProcessElement2}
		if t, ok := any(f).(KeyedTimerFunction[K, Out]); ok {
			fns.OnTimer = t.OnTimer
		}
		return coTask[A, B, K, Out]{fns: fns, user: f}, nil
	})
	if newFn == nil {
		n.p.fail(n, ErrNilFunc)
	}
	return newStream[Out](n)
}

// ProcessWindowFunction is a function for ProcessWindowRich:
// WindowProcessFunc's method.
type ProcessWindowFunction[T any, K comparable, Out any] interface {
	Process(ctx *WindowContext[K], elems []T, out Collector[Out]) error
}

// Process calls f.
func (f WindowProcessFunc[T, K, Out]) Process(ctx *WindowContext[K], elems []T, out Collector[Out]) error {
	return f(ctx, elems, out)
}

// ProcessWindowRich is ProcessWindow with a function made per subtask by
// newFn, as Flink's ProcessWindowFunction: its Open (with a
// KeyedRuntimeContext) may get its global states, those of the key
// across windows; per-window state comes from each firing's
// ctx.WindowState().
func ProcessWindowRich[T any, K comparable, Out any, F ProcessWindowFunction[T, K, Out]](ws WindowedStream[T, K], newFn func() F) Stream[Out] {
	if ws.cfg.evictor != nil {
		return windowNodeOf(ws, "window-process", true, newFn == nil, true, timestampedContents[T],
			func() (windowFn[T, K, []window.TimestampedValue[T], Out], any) {
				f := newFn()
				return evictingFn(ws, f.Process), f
			})
	}
	return windowNodeOf(ws, "window-process", true, newFn == nil, true, listContents[T], func() (windowFn[T, K, []T, Out], any) {
		f := newFn()
		return listFn(f.Process), f
	})
}

// AsyncFunction is a function for AsyncMapRich. AsyncInvoke runs off the
// subtask's goroutine, concurrently with the subtask's other calls, with
// the rules of AsyncFunc; Open and Close run on the subtask's goroutine,
// Open before the first call, Close once the operator has closed, when
// its calls' contexts are cancelled (a call may still be returning).
type AsyncFunction[In, Out any] interface {
	AsyncInvoke(ctx context.Context, in In) ([]Out, error)
}

// AsyncMapRich is AsyncMap with a function made per subtask by newFn,
// which may implement Open and Close: an HTTP client made in Open, used by
// every call of the subtask, closed in Close.
func AsyncMapRich[In, Out any, F AsyncFunction[In, Out]](s Stream[In], newFn func() F, cfg AsyncConfig[In, Out]) Stream[Out] {
	var mk func() (asyncCallFunc[In, Out], any)
	if newFn != nil {
		mk = func() (asyncCallFunc[In, Out], any) {
			f := newFn()
			return func(ctx context.Context, ins []In) ([][]Out, error) {
				out, err := f.AsyncInvoke(ctx, ins[0])
				return [][]Out{out}, err
			}, f
		}
	}
	return addAsyncOf(s, "async", mk, cfg, 1)
}
