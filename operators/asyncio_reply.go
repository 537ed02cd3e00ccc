package operators

import (
	"fmt"
	"time"

	"github.com/troupe-dev/troupe/operators/async"
)

// HandleMessage takes the replies waiting in the operator's invoker.
func (o *asyncOp[In, Out]) HandleMessage(msg any) bool {
	r, ok := msg.(AsyncReady)
	if !ok || r.Invoker != o.inv || o.closed {
		return false
	}
	for _, rep := range o.inv.Replies() {
		o.calls--
		if rep, ok := rep.(*asyncReply[In, Out]); ok && rep.call.op == o && !o.tc.Failed() {
			o.onReply(rep)
		}
	}
	o.drain()
	return true
}

// onReply settles each record of a call whose attempt is still current;
// a reply to an attempt that was retried, timed out or already completed
// is ignored, so a record completes once.
func (o *asyncOp[In, Out]) onReply(r *asyncReply[In, Out]) {
	if r.fatal {
		o.stats.Failures++
		o.tc.Fail(r.err)
		return
	}
	now := o.tc.Now()
	for i, it := range r.call.items {
		if att, ok := o.q.Attempt(it.rec.h); !ok || att != it.attempt {
			o.stats.Late++
			continue
		}
		switch {
		case r.err == nil:
			o.outcome(it, r.results[i], nil, now)
		case !it.rec.deadline.IsZero() && !now.Before(it.rec.deadline):
			// The call's context expired with the record's timeout, and
			// its error came before the timer fired: a timeout all the
			// same, not a failure of the service.
			o.timeout(it.rec)
		default:
			o.outcome(it, nil, r.err, now)
		}
	}
}

// outcome decides what an attempt's end means for its record: done,
// another attempt later, or the timeout handler now because no retry
// would start before the record's timeout.
func (o *asyncOp[In, Out]) outcome(it callItem[In], res []Out, err error, now time.Time) {
	rec := it.rec
	delay, v := o.deadline.Next(o.cfg.Retry, it.attempt, now.Sub(rec.start), err, err == nil && len(res) == 0)
	switch {
	case v == async.Retry:
		o.stats.Retries++
		o.q.NextAttempt(rec.h)
		o.timers.schedule(o, rec, now.Add(delay))
	case v == async.TimedOut:
		o.timeout(rec)
	case err != nil:
		o.failRecord(rec, it.attempt, err)
	default:
		o.complete(rec, res)
	}
}

func (o *asyncOp[In, Out]) complete(rec *asyncRec[In], res []Out) {
	o.timers.unschedule(rec)
	o.q.Complete(rec.h, res)
	o.stats.Completed++
}

// timeout runs the timeout handler for a record still in flight.
func (o *asyncOp[In, Out]) timeout(rec *asyncRec[In]) {
	o.stats.Timeouts++
	var err error
	if o.cfg.OnTimeout == nil {
		err = fmt.Errorf("%w: record #%d (timestamp %d) after %v", ErrAsyncTimeout, rec.h.Seq(), rec.ts, o.cfg.Timeout)
	} else {
		var res []Out
		if res, err = o.cfg.OnTimeout(rec.in); err == nil {
			o.complete(rec, res)
			return
		}
		err = fmt.Errorf("async timeout handler, record #%d: %w", rec.h.Seq(), err)
	}
	o.fail(rec, err)
}

// failRecord handles a call that failed for good.
func (o *asyncOp[In, Out]) failRecord(rec *asyncRec[In], attempts int, err error) {
	if o.cfg.OnError != nil {
		res, herr := o.cfg.OnError(rec.in, err)
		if herr == nil {
			o.complete(rec, res)
			return
		}
		err = herr
	}
	o.fail(rec, fmt.Errorf("async call for record #%d failed after %d attempt(s): %w", rec.h.Seq(), attempts, err))
}

// fail fails the record and, at once, the subtask (Flink's behaviour):
// there is no point in waiting for the record's turn.
func (o *asyncOp[In, Out]) fail(rec *asyncRec[In], err error) {
	o.timers.unschedule(rec)
	o.q.Fail(rec.h, err)
	o.stats.Failures++
	o.tc.Fail(err)
}

// drain emits everything the queue releases, then moves held-back input
// into the freed slots, until neither makes progress.
func (o *asyncOp[In, Out]) drain() {
	for !o.tc.Failed() {
		for e, ok := o.q.Pop(); ok; e, ok = o.q.Pop() {
			o.emit(e)
		}
		if !o.refill() {
			break
		}
	}
	if o.ending {
		o.flush()
	}
}

func (o *asyncOp[In, Out]) emit(e async.Entry[*asyncRec[In], Out]) {
	if e.IsMarker() {
		o.tc.EmitWatermark(e.Marker.(int64))
		return
	}
	for _, r := range e.Results {
		o.out.Collect(r, e.In.ts)
	}
}

// refill puts held-back input into the queue while it has room, and
// reports whether it put anything.
func (o *asyncOp[In, Out]) refill() bool {
	moved := false
	for o.overflow.len() > 0 && !o.q.Full() {
		in := o.overflow.pop()
		if in.isWM {
			_ = o.q.PutMarker(in.wm)
		} else {
			o.put(in.in, in.ts)
		}
		moved = true
	}
	return moved
}
