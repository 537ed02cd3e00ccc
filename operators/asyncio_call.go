package operators

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"time"

	"github.com/troupe-dev/troupe/operators/async"
)

// asyncRec is one entry of an async operator's ledger: an input record
// (from its Collect until it is emitted) or a watermark held back between
// records (marker). The core writes in, ts, key, marker, start and
// deadline before it hands the entry to the sequencer and only reads them
// afterwards; the sequencer reads them too. The other fields each belong
// to one side: a field is written by only the goroutine that owns it.
type asyncRec[In any] struct {
	seq      uint64 // rank in input order among the operator's entries, from 1
	in       In
	ts       int64 // the record's timestamp, or the marker's watermark
	key      uint64
	marker   bool
	start    time.Time // of the first attempt: the timeout spans all
	deadline time.Time // zero: no timeout

	// Owned by the core (the subtask's goroutine).
	prev, next *asyncRec[In] // the ledger, in input order
	state      recState
	attempt    int // of the latest call started or scheduled

	// Owned by the sequencer.
	h async.Handle
}

// recState is where a record stands, as the core knows it.
type recState uint8

const (
	// recFlying: a call is running or about to start; the sequencer may
	// complete the record at any time.
	recFlying recState = iota
	// recParked: the sequencer parked the record after an attempt; a
	// retry is scheduled.
	recParked
	// recExpiring: the deadline passed while flying; the sequencer was
	// asked to park the record and report it.
	recExpiring
	// recSettled: the core decided (a handler's results are on their way
	// to the sequencer); nothing more to do but wait for the release.
	recSettled
	// recReleased: emitted and out of the ledger.
	recReleased
)

// callItem is one record of a call, with the attempt the call makes for
// it: a reply to an older attempt is stale and ignored.
type callItem[In any] struct {
	rec     *asyncRec[In]
	attempt int
}

// asyncCall implements AsyncCall. The runtime runs it on another goroutine:
// Run reads only ins, deadline and op.fn, which never change after the
// call is made.
type asyncCall[In, Out any] struct {
	op       *asyncOp[In, Out]
	items    []callItem[In]
	ins      []In
	deadline time.Time
}

// asyncReply is what a call returns to the sequencer.
type asyncReply[In, Out any] struct {
	call    *asyncCall[In, Out]
	results [][]Out // one per item when err is nil
	err     error
	fatal   bool // a panic or a malformed batch result: never retried
}

var (
	_ AsyncCall                = (*asyncCall[int, string])(nil)
	_ AsyncCallInputs[int]     = (*asyncCall[int, string])(nil)
	_ AsyncCallResults[string] = (*asyncCall[int, string])(nil)
)

func newAsyncCall[In, Out any](op *asyncOp[In, Out], items []callItem[In]) *asyncCall[In, Out] {
	c := &asyncCall[In, Out]{op: op, items: items, ins: make([]In, len(items))}
	for i, it := range items {
		c.ins[i] = it.rec.in
		if d := it.rec.deadline; !d.IsZero() && (c.deadline.IsZero() || d.Before(c.deadline)) {
			c.deadline = d
		}
	}
	return c
}

// Run implements AsyncCall: it calls the user's function and turns a panic
// or a result of the wrong length into a fatal reply.
func (c *asyncCall[In, Out]) Run(ctx context.Context) (reply any) {
	r := &asyncReply[In, Out]{call: c}
	defer func() {
		if p := recover(); p != nil {
			r.results, r.fatal = nil, true
			r.err = fmt.Errorf("%w: %v\n%s", ErrAsyncPanic, p, debug.Stack())
			reply = r
		}
	}()
	r.results, r.err = c.op.fn(ctx, c.ins)
	c.check(r)
	return r
}

// check makes a successful reply with one result slice per input, or a
// fatal one.
func (c *asyncCall[In, Out]) check(r *asyncReply[In, Out]) {
	if r.err == nil && len(r.results) != len(c.ins) {
		r.err = fmt.Errorf("operators: async batch function returned %d results for %d records",
			len(r.results), len(c.ins))
		r.results, r.fatal = nil, true
	}
}

// Deadline implements AsyncCall.
func (c *asyncCall[In, Out]) Deadline() time.Time { return c.deadline }

// Inputs implements AsyncCallInputs: a copy of the call's records.
func (c *asyncCall[In, Out]) Inputs() []In { return slices.Clone(c.ins) }

// Complete implements AsyncCallResults.
func (c *asyncCall[In, Out]) Complete(results [][]Out) (any, error) {
	if len(results) != len(c.ins) {
		return nil, fmt.Errorf("%d result slices for a call of %d records: want one per record", len(results), len(c.ins))
	}
	return &asyncReply[In, Out]{call: c, results: results}, nil
}

// Fail implements AsyncCall.
func (c *asyncCall[In, Out]) Fail(err error) any { return &asyncReply[In, Out]{call: c, err: err} }

// send starts an attempt, or adds it to the batch being gathered; a batch
// goes when full, when the ledger is full (no more records will come to
// fill it) and after end of input.
func (o *asyncOp[In, Out]) send(it callItem[In]) {
	o.pending = append(o.pending, it)
	if len(o.pending) == 1 && o.batch > 1 {
		o.timers.batchDue = o.tc.Now().Add(o.cfg.BatchTimeout)
	}
	if len(o.pending) >= o.batch || o.full() || o.ending {
		o.flushBatch()
	}
}

// flushBatch makes the gathered records one call, started when the turn
// ends (after the sequencer has been told to expect them).
func (o *asyncOp[In, Out]) flushBatch() {
	if len(o.pending) == 0 {
		return
	}
	items := o.pending
	o.pending = nil
	o.calls++
	o.stats.Calls++
	o.starts = append(o.starts, newAsyncCall(o, items))
}
