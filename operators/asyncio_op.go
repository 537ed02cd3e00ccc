package operators

import (
	"context"
	"fmt"

	"github.com/troupe-dev/troupe/mailbox"
	"github.com/troupe-dev/troupe/operators/async"
)

// asyncOp is the core of an async I/O operator. It runs on the subtask's
// goroutine, never concurrently with itself, and is the same in every
// runtime: the calls and the sequencer run elsewhere, through the
// AsyncInvoker the runtime provides.
//
// The core keeps what must be decided in the subtask's own turn:
//
//   - the ledger: every record and watermark handed to the sequencer and
//     not yet emitted, in input order. Its length is what capacity bounds
//     (Blocked), and it is what a snapshot stores, without asking the
//     sequencer: a result the sequencer released but the core has not
//     yet emitted is still in the ledger, so the barrier cannot pass
//     between the sequencer's release and the emission (see
//     SnapshotState);
//   - the clock: deadlines, retry delays and batch timeouts fire from the
//     subtask's single timer, and the timeout and error handlers run
//     here, as their contract says;
//   - emission: released results leave through the subtask's chain and
//     output gate, watermarks through TaskContext.EmitWatermark.
//
// Each turn (a batch of input, a timer, a release) gathers commands for
// the sequencer and calls to start, and ends in pump, which sends the
// commands in one message, then starts the calls, then takes the
// releases waiting.
type asyncOp[In, Out any] struct {
	tc       *TaskContext
	out      Collector[Out]
	fn       func(context.Context, []In) ([][]Out, error)
	cfg      AsyncConfig[In, Out]
	codec    Codec[In] // for the pending records of a snapshot
	batch    int       // records per call: 1 for AsyncMap
	inv      AsyncInvoker
	deadline async.Deadline
	ledger   ledger[In]
	overflow mailbox.Queue[asyncInput[In]] // input taken while the ledger was full
	// ready holds what the sequencer released and the core has not
	// emitted yet, in order: the core stops emitting while the chain's
	// output waits for credit (see outputHolder). Its records are still
	// in the ledger, so a snapshot has them as pending.
	ready mailbox.Queue[released[In, Out]]
	// restoring: the operator was restored and the runtime has not
	// resumed the chain since; ready holds what is released meanwhile
	// (see RestoreState)
	restoring bool
	timers    asyncTimers[In]
	pending   []callItem[In]        // records waiting for their batch to be sent
	cmds      []seqCmd[In, Out]     // for the sequencer, sent at the turn's end
	starts    []*asyncCall[In, Out] // calls to start after cmds are sent
	calls     int64                 // calls started whose replies have not come
	nextSeq   uint64                // seq of the last entry expected
	ending    bool                  // EndInput was called
	closed    bool
	stats     AsyncStats
	user      userFunc // AsyncMapRich's function, closed after the invoker
}

// asyncInput is an element taken from the input but not yet in the ledger.
type asyncInput[In any] struct {
	in   In
	ts   int64
	wm   int64
	isWM bool
}

// AsyncStats counts what an async operator did, for metrics: calls
// started, records completed (by a result or a handler), attempts retried,
// timeouts, failures, and replies ignored as stale (Late). Completed and
// Late are counted by the sequencer and reach the core with its releases.
type AsyncStats struct {
	Calls, Completed, Retries, Timeouts, Failures, Late int64
	// InFlight is how many records (and watermarks between them) wait for
	// their results now: at most the capacity.
	InFlight int64
	// Latency is the time from a record's arrival at the operator to its
	// emission downstream: every attempt and backoff, and in ordered mode
	// the wait for the records before it, included.
	Latency LatencyHistogram
}

func newAsyncOp[In, Out any](tc *TaskContext, out Collector[Out], fn func(context.Context, []In) ([][]Out, error),
	cfg AsyncConfig[In, Out], codec Codec[In], batch int) (*asyncOp[In, Out], error) {
	h := tc.Host
	if h == nil {
		return nil, ErrAsyncRuntime
	}
	seq, err := newAsyncSeq[In, Out](cfg.Mode, cfg.Capacity, cfg.Retry)
	if err != nil {
		return nil, err
	}
	op := &asyncOp[In, Out]{tc: tc, out: out, fn: fn, cfg: cfg, codec: codec, batch: batch,
		deadline: async.Deadline{Timeout: cfg.Timeout}}
	op.inv, err = h.NewAsyncInvoker(AsyncInvokerConfig{Operator: tc.Operator, Workers: cfg.Workers, Sequencer: seq})
	if err != nil {
		return nil, fmt.Errorf("async invoker: %w", err)
	}
	return op, nil
}

// Collect takes a record; at capacity it keeps it until a slot frees.
func (o *asyncOp[In, Out]) Collect(v In, ts int64) {
	if o.closed || o.tc.Failed() {
		return
	}
	if o.overflow.Len() > 0 || o.full() {
		o.overflow.Push(asyncInput[In]{in: v, ts: ts})
		return
	}
	o.put(v, ts)
}

// full reports whether the ledger holds Capacity entries.
func (o *asyncOp[In, Out]) full() bool { return o.ledger.len() >= o.cfg.Capacity }

// put enters a record into the ledger, tells the sequencer to expect it
// and starts its first attempt.
func (o *asyncOp[In, Out]) put(v In, ts int64) {
	rec := &asyncRec[In]{in: v, ts: ts, start: o.tc.Now(), attempt: 1}
	if o.cfg.Mode == async.KeyOrdered {
		rec.key = o.cfg.Key(v)
	}
	if o.cfg.Timeout > 0 {
		rec.deadline = rec.start.Add(o.cfg.Timeout)
		o.timers.deadlines.Push(rec)
	}
	o.expect(rec)
	o.send(callItem[In]{rec: rec, attempt: 1})
}

// expect appends rec to the ledger and to the sequencer's commands.
func (o *asyncOp[In, Out]) expect(rec *asyncRec[In]) {
	o.nextSeq++
	rec.seq = o.nextSeq
	o.ledger.push(rec)
	o.cmds = append(o.cmds, seqCmd[In, Out]{op: seqExpect, rec: rec})
}

// putMarker holds watermark wm back behind the entries before it.
func (o *asyncOp[In, Out]) putMarker(wm int64) {
	o.expect(&asyncRec[In]{ts: wm, marker: true, state: recSettled})
}

// ProcessWatermark holds a watermark back as a marker behind the records
// before it; it leaves through EmitWatermark in its turn. With nothing
// pending it passes at once.
func (o *asyncOp[In, Out]) ProcessWatermark(wm int64) (int64, bool) {
	switch {
	case o.closed || o.tc.Failed():
		return 0, false
	case o.ledger.len() == 0 && o.overflow.Len() == 0:
		return wm, true
	case o.full() || o.overflow.Len() > 0:
		o.overflow.Push(asyncInput[In]{wm: wm, isWM: true})
	default:
		o.putMarker(wm)
	}
	return 0, false
}

// Blocked stops the subtask's input while the ledger is full; after end of
// input it holds the subtask open until every record has left and every
// call has replied (a call that timed out included, so that no reply can
// come to a finished subtask; its context is cancelled at its deadline).
func (o *asyncOp[In, Out]) Blocked() bool {
	switch {
	case o.closed || o.tc.Failed():
		return false
	case o.ending:
		return o.ledger.len() > 0 || o.overflow.Len() > 0 || o.calls > 0
	}
	return o.full() || o.overflow.Len() > 0
}

// BatchEnd ends the turn of a batch of input: the records it brought go
// to the sequencer in one message, then their calls start.
func (o *asyncOp[In, Out]) BatchEnd() { o.pump(false) }

// EndInput fires the pending retries at once and sends the last batch;
// Blocked then holds the subtask until all records have left.
func (o *asyncOp[In, Out]) EndInput() error {
	o.timers.fireRetries(o)
	o.ending = true
	o.pump(false)
	return nil
}

// Close stops the invoker and the sequencer: the replies still to come
// are dropped, as the records still pending will be invoked again on
// recovery.
func (o *asyncOp[In, Out]) Close() error {
	if o.closed {
		return nil
	}
	o.closed = true
	o.inv.Close() // cancels the calls' contexts first: the function goes after them
	return o.user.Close()
}

// Stats returns the operator's counters. Completed and Late are counted
// by the sequencer and arrive with its releases.
func (o *asyncOp[In, Out]) Stats() AsyncStats {
	st := o.stats
	st.InFlight = int64(o.ledger.len())
	return st
}

// Timers implements the chain's count of timers: one timeout per record
// not yet emitted, one per scheduled retry, one for a batch being
// gathered.
func (o *asyncOp[In, Out]) Timers() int {
	n := o.timers.parked
	if o.cfg.Timeout > 0 {
		n += o.ledger.records
	}
	if len(o.pending) > 0 && o.batch > 1 {
		n++
	}
	return n
}
