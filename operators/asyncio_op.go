package operators

import (
	"context"
	"fmt"

	"github.com/troupe-dev/troupe/operators/async"
)

// asyncOp is the core of an async I/O operator. It runs on the subtask's
// goroutine, never concurrently with itself, and is the same in every
// runtime: only the calls run elsewhere, through the AsyncInvoker the
// runtime provides.
//
// Sequencing lives here, in the subtask, rather than in a separate
// sequencer actor: results must leave through the subtask's chain and
// output gate anyway, so a sequencer would send every released result back
// to the subtask (one more hop and mailbox slot per result, for queue work
// that costs tens of nanoseconds); and keeping the queue here lets the
// subtask answer Blocked exactly, fire timeouts from its single timer, and
// take a snapshot of the pending records in the same turn as the rest of
// the chain, so records released before a barrier cannot slip past the
// snapshot of the operators chained after this one.
type asyncOp[In, Out any] struct {
	tc       *TaskContext
	out      Collector[Out]
	fn       func(context.Context, []In) ([][]Out, error)
	cfg      AsyncConfig[In, Out]
	codec    Codec[In] // for the pending records of a snapshot
	batch    int       // records per call: 1 for AsyncMap
	q        *async.Queue[*asyncRec[In], Out]
	inv      AsyncInvoker
	deadline async.Deadline
	overflow fifo[asyncInput[In]] // input taken while the queue was full
	timers   asyncTimers[In]
	pending  []callItem[In] // records waiting for their batch to be sent
	calls    int            // calls started whose replies have not come
	ending   bool           // EndInput was called
	closed   bool
	stats    AsyncStats
}

// asyncInput is an element taken from the input but not yet in the queue.
type asyncInput[In any] struct {
	in   In
	ts   int64
	wm   int64
	isWM bool
}

// AsyncStats counts what an async operator did, for metrics.
type AsyncStats struct {
	Calls, Completed, Retries, Timeouts, Failures, Late int64
}

func newAsyncOp[In, Out any](tc *TaskContext, out Collector[Out], fn func(context.Context, []In) ([][]Out, error),
	cfg AsyncConfig[In, Out], codec Codec[In], batch int) (*asyncOp[In, Out], error) {
	h, ok := tc.Host.(AsyncHost)
	if !ok {
		return nil, fmt.Errorf("%w (host %T)", ErrAsyncRuntime, tc.Host)
	}
	q, err := async.NewQueue[*asyncRec[In], Out](cfg.Mode, cfg.Capacity)
	if err != nil {
		return nil, err
	}
	op := &asyncOp[In, Out]{tc: tc, out: out, fn: fn, cfg: cfg, codec: codec, batch: batch, q: q,
		deadline: async.Deadline{Timeout: cfg.Timeout}}
	if op.inv, err = h.NewAsyncInvoker(AsyncInvokerConfig{Operator: tc.Operator, Workers: cfg.Workers}); err != nil {
		return nil, fmt.Errorf("async invoker: %w", err)
	}
	return op, nil
}

// Collect takes a record; at capacity it keeps it until a slot frees.
func (o *asyncOp[In, Out]) Collect(v In, ts int64) {
	if o.closed || o.tc.Failed() {
		return
	}
	if o.overflow.len() > 0 || o.q.Full() {
		o.overflow.push(asyncInput[In]{in: v, ts: ts})
		return
	}
	o.put(v, ts)
}

// put enters a record into the queue and starts its first attempt.
func (o *asyncOp[In, Out]) put(v In, ts int64) {
	rec := &asyncRec[In]{in: v, ts: ts, start: o.tc.Now()}
	var key uint64
	if o.cfg.Mode == async.KeyOrdered {
		key = o.cfg.Key(v)
	}
	h, err := o.q.Put(rec, ts, key)
	if err != nil { // cannot happen: the caller checked Full
		o.tc.Fail(fmt.Errorf("async: %w", err))
		return
	}
	rec.h = h
	if o.cfg.Timeout > 0 {
		rec.deadline = rec.start.Add(o.cfg.Timeout)
		o.timers.deadlines.push(rec)
	}
	o.send(callItem[In]{rec: rec, attempt: 1})
}

// send starts an attempt, or adds it to the batch being gathered; a batch
// goes when full, when the queue is full (no more records will come to
// fill it) and after end of input.
func (o *asyncOp[In, Out]) send(it callItem[In]) {
	o.pending = append(o.pending, it)
	if len(o.pending) == 1 && o.batch > 1 {
		o.timers.batchDue = o.tc.Now().Add(o.cfg.BatchTimeout)
	}
	if len(o.pending) >= o.batch || o.q.Full() || o.ending {
		o.flush()
	}
}

// flush sends the gathered records as one call.
func (o *asyncOp[In, Out]) flush() {
	if len(o.pending) == 0 {
		return
	}
	items := o.pending
	o.pending = nil
	o.calls++
	o.stats.Calls++
	o.inv.Invoke(newAsyncCall(o, items))
}

// ProcessWatermark holds a watermark back as a marker behind the records
// before it; it leaves through EmitWatermark in its turn. With nothing in
// flight it passes at once.
func (o *asyncOp[In, Out]) ProcessWatermark(wm int64) (int64, bool) {
	switch {
	case o.closed || o.tc.Failed():
		return 0, false
	case o.q.Empty() && o.overflow.len() == 0:
		return wm, true
	case o.q.Full() || o.overflow.len() > 0:
		o.overflow.push(asyncInput[In]{wm: wm, isWM: true})
	default:
		_ = o.q.PutMarker(wm) // not full: cannot fail
	}
	return 0, false
}

// Blocked stops the subtask's input while the queue is full; after end of
// input it holds the subtask open until every record has left and every
// call has replied (a call that timed out included, so that no reply can
// reach a finished subtask; its context is cancelled at its deadline).
func (o *asyncOp[In, Out]) Blocked() bool {
	switch {
	case o.closed || o.tc.Failed():
		return false
	case o.ending:
		return !o.q.Empty() || o.overflow.len() > 0 || o.calls > 0
	}
	return o.q.Full() || o.overflow.len() > 0
}

// EndInput fires the pending retries at once and sends the last batch;
// Blocked then holds the subtask until all records have left.
func (o *asyncOp[In, Out]) EndInput() error {
	o.timers.fireRetries(o)
	o.ending = true
	o.flush()
	o.drain()
	return nil
}

// Close stops the invoker: the replies still to come are dropped, as the
// records still in flight will be invoked again on recovery.
func (o *asyncOp[In, Out]) Close() error {
	if !o.closed {
		o.closed = true
		o.inv.Close()
	}
	return nil
}

// Stats returns the operator's counters.
func (o *asyncOp[In, Out]) Stats() AsyncStats { return o.stats }

// Timers implements the chain's count of timers: one timeout per record in
// flight, one per scheduled retry, one for a batch being gathered.
func (o *asyncOp[In, Out]) Timers() int {
	n := o.timers.retrying
	if o.cfg.Timeout > 0 {
		n += o.q.InFlight()
	}
	if len(o.pending) > 0 && o.batch > 1 {
		n++
	}
	return n
}
