package operators

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/troupe-dev/troupe/operators/async"
)

// AsyncFunc is the user's async function for AsyncMap: it calls a service
// for one record and returns the records to emit (none, one or several,
// with the input's timestamp) or an error.
//
// It runs off the subtask's goroutine, concurrently with the other calls
// of the subtask (at most Capacity), so it must be safe for concurrent
// use. It must return soon after ctx is done: ctx is cancelled at the
// record's timeout and when the subtask closes. It must not keep or
// modify in after returning.
type AsyncFunc[In, Out any] func(ctx context.Context, in In) ([]Out, error)

// AsyncBatchFunc is the user's function for AsyncMapBatch: it gets up to
// BatchSize records at once (for services such as model inference) and
// returns, in the same order, one slice of output records per input, or
// one error for the whole batch. The rules of AsyncFunc apply.
type AsyncBatchFunc[In, Out any] func(ctx context.Context, in []In) ([][]Out, error)

// DefaultAsyncWorkers is the default size of the runtime's pool of
// invokers per subtask.
const DefaultAsyncWorkers = 4

// DefaultAsyncBatchTimeout bounds how long a record waits for its batch
// to fill in AsyncMapBatch.
const DefaultAsyncBatchTimeout = 10 * time.Millisecond

// AsyncConfig configures AsyncMap and AsyncMapBatch. Zero fields take
// their defaults, so AsyncConfig[In, Out]{} is DefaultAsyncConfig.
type AsyncConfig[In, Out any] struct {
	// Mode is the order results leave in: async.Ordered (input order,
	// the default), async.Unordered (completion order, never across a
	// watermark) or async.KeyOrdered (input order per Key).
	Mode async.Mode
	// Capacity bounds the records in flight and the watermarks held back
	// between them; at capacity the subtask stops taking input
	// (backpressure). Default async.DefaultCapacity (100).
	Capacity int
	// Timeout bounds each record's call, all attempts included; 0 (the
	// default) means none. See async.Config.Timeout.
	Timeout time.Duration
	// Retry decides whether a failed or empty call is made again.
	// Default (nil): async.NoRetry().
	Retry async.RetryStrategy
	// Key returns a record's key hash (for example with HashKey) for
	// KeyOrdered mode, where it is required; other modes ignore it.
	Key func(In) uint64
	// OnTimeout runs on the subtask's goroutine when a record times out;
	// its results are emitted in the record's place, its error fails the
	// subtask. It must not block. Default (nil): fail the subtask with an
	// error wrapping ErrAsyncTimeout.
	OnTimeout func(in In) ([]Out, error)
	// OnError runs on the subtask's goroutine when a record's call failed
	// for good (retries over), as OnTimeout does. Default (nil): fail the
	// subtask with the call's error.
	OnError func(in In, err error) ([]Out, error)
	// Workers is the size of the runtime's invoker pool. Default
	// DefaultAsyncWorkers.
	Workers int
	// BatchSize is the most records per call of AsyncMapBatch; AsyncMap
	// ignores it. Default 16.
	BatchSize int
	// BatchTimeout is how long AsyncMapBatch waits for a batch to fill.
	// Default DefaultAsyncBatchTimeout.
	BatchTimeout time.Duration
}

// DefaultAsyncConfig returns the defaults: ordered, capacity 100, no
// timeout, no retry, timeouts and errors fail the subtask.
func DefaultAsyncConfig[In, Out any]() AsyncConfig[In, Out] {
	return AsyncConfig[In, Out]{Mode: async.Ordered, Capacity: async.DefaultCapacity,
		Retry: async.NoRetry(), Workers: DefaultAsyncWorkers, BatchSize: 16,
		BatchTimeout: DefaultAsyncBatchTimeout}
}

// withDefaults fills zero fields and validates; the error wraps
// async.ErrConfig and names the field.
func (c AsyncConfig[In, Out]) withDefaults() (AsyncConfig[In, Out], error) {
	d := DefaultAsyncConfig[In, Out]()
	if c.Capacity == 0 {
		c.Capacity = d.Capacity
	}
	if c.Retry == nil {
		c.Retry = d.Retry
	}
	if c.Workers == 0 {
		c.Workers = d.Workers
	}
	if c.BatchSize == 0 {
		c.BatchSize = d.BatchSize
	}
	if c.BatchTimeout == 0 {
		c.BatchTimeout = d.BatchTimeout
	}
	ac := async.Config{Mode: c.Mode, Capacity: c.Capacity, Timeout: c.Timeout, Retry: c.Retry}
	switch err := ac.Validate(); {
	case err != nil:
		return c, err
	case c.Mode == async.KeyOrdered && c.Key == nil:
		return c, fmt.Errorf("%w: Key is required in KeyOrdered mode", async.ErrConfig)
	case c.Workers < 0 || c.BatchSize < 0 || c.BatchTimeout < 0:
		return c, fmt.Errorf("%w: Workers %d, BatchSize %d, BatchTimeout %v must not be negative",
			async.ErrConfig, c.Workers, c.BatchSize, c.BatchTimeout)
	}
	return c, nil
}

// AsyncMap calls fn for every record without waiting for one call to
// return before starting the next, and emits each call's results with the
// record's timestamp, in the order cfg.Mode says. Watermarks keep their
// place among the records. A call that fails for good or times out fails
// the subtask unless cfg.OnError or cfg.OnTimeout decide otherwise.
//
// The operator needs a runtime that gives its TaskContext a Host (the
// actors runtime, the test harness).
func AsyncMap[In, Out any](s Stream[In], fn AsyncFunc[In, Out], cfg AsyncConfig[In, Out]) Stream[Out] {
	var call func(ctx context.Context, ins []In) ([][]Out, error)
	if fn != nil {
		call = func(ctx context.Context, ins []In) ([][]Out, error) {
			out, err := fn(ctx, ins[0])
			return [][]Out{out}, err
		}
	}
	return addAsync(s, "async", call, cfg, 1)
}

// AsyncMapBatch is AsyncMap for functions that take up to cfg.BatchSize
// records at once. A batch is sent when full, when cfg.BatchTimeout has
// passed since its first record, when the operator is at capacity and at
// end of input. Each record keeps its own timeout and retries: a record
// retried is sent again in a later batch.
func AsyncMapBatch[In, Out any](s Stream[In], fn AsyncBatchFunc[In, Out], cfg AsyncConfig[In, Out]) Stream[Out] {
	var call func(ctx context.Context, ins []In) ([][]Out, error)
	if fn != nil {
		call = fn
	}
	size := cfg.BatchSize
	if size == 0 {
		size = DefaultAsyncConfig[In, Out]().BatchSize
	}
	return addAsync(s, "async-batch", call, cfg, size)
}

// asyncCallFunc is what an async operator calls for a batch of records
// (one for AsyncMap): one result slice per input, or an error.
type asyncCallFunc[In, Out any] = func(ctx context.Context, ins []In) ([][]Out, error)

func addAsync[In, Out any](s Stream[In], kind string, fn asyncCallFunc[In, Out], cfg AsyncConfig[In, Out], batch int) Stream[Out] {
	var perTask func() (asyncCallFunc[In, Out], any)
	if fn != nil {
		perTask = func() (asyncCallFunc[In, Out], any) { return fn, nil }
	}
	return addAsyncOf(s, kind, perTask, cfg, batch)
}

// addAsyncOf adds an async operator calling the function perTask makes
// for each subtask, with the user's function value to open and close (nil
// for none).
func addAsyncOf[In, Out any](s Stream[In], kind string, perTask func() (asyncCallFunc[In, Out], any),
	cfg AsyncConfig[In, Out], batch int) Stream[Out] {
	n := s.n.p.addNode(kindOperator, kind, newStreamOps[Out]())
	connect(s, n)
	capSet := cfg.Capacity != 0
	cfg, err := cfg.withDefaults()
	n.async = &asyncSpec{capacity: cfg.Capacity, set: capSet}
	switch {
	case perTask == nil:
		n.p.fail(n, ErrNilFunc)
	case err != nil:
		n.p.fail(n, err)
	}
	codec := CodecOf(s)
	n.open = func(tc *TaskContext, out any) (*instance, error) {
		c := cfg
		capacity, err := capacityWithin(tc, cfg.Capacity, capSet)
		if err != nil {
			return nil, err
		}
		c.Capacity = capacity
		fn, user := perTask()
		if err := openFunc(user, tc); err != nil {
			return nil, errors.Join(err, closeFunc(user))
		}
		op, err := newAsyncOp(tc, out.(Collector[Out]), fn, c, codec, batch)
		if err != nil {
			return nil, errors.Join(err, closeFunc(user))
		}
		op.user = userFunc{user}
		return &instance{inputs: []any{Collector[In](op)}, hooks: op}, nil
	}
	return newStream[Out](n)
}

// capacityWithin returns the capacity of an async operator under the
// subtask's ceiling (TaskContext.MaxAsyncCapacity): a default capacity is
// lowered to it; one the pipeline set above it is an error.
func capacityWithin(tc *TaskContext, capacity int, set bool) (int, error) {
	ceiling := tc.MaxAsyncCapacity
	switch {
	case ceiling <= 0 || capacity <= ceiling:
		return capacity, nil
	case set:
		return 0, fmt.Errorf("%w: Capacity %d is above the subtask's ceiling of %d records in flight (the memory budget's)",
			async.ErrConfig, capacity, ceiling)
	}
	return ceiling, nil
}

// AsyncOperator describes an async I/O operator of a vertex, for a
// runtime that budgets memory (actors.Config.Memory).
type AsyncOperator struct {
	Name string
	// Capacity is the most records it may have in flight; CapacitySet
	// says the pipeline set it (AsyncConfig.Capacity) rather than leave
	// the default, which a runtime may lower (TaskContext.MaxAsyncCapacity).
	Capacity    int
	CapacitySet bool
}

// AsyncOperators returns the vertex's async I/O operators, head first.
func (v *Vertex) AsyncOperators() []AsyncOperator {
	var ops []AsyncOperator
	for _, n := range v.nodes {
		if n.async != nil {
			ops = append(ops, AsyncOperator{Name: n.name, Capacity: n.async.capacity, CapacitySet: n.async.set})
		}
	}
	return ops
}
