package operators

import (
	"fmt"
)

// HandleMessage takes the releases waiting in the operator's invoker.
func (o *asyncOp[In, Out]) HandleMessage(msg any) bool {
	r, ok := msg.(AsyncReady)
	if !ok || r.Invoker != o.inv || o.closed {
		return false
	}
	o.pump(true)
	return true
}

// pump ends a turn: it sends the gathered commands to the sequencer in one
// message, starts the gathered calls, then handles the releases waiting
// (ready: the turn is an AsyncReady's), and repeats while that emitted
// something or let held-back input in.
func (o *asyncOp[In, Out]) pump(ready bool) {
	for !o.closed {
		if o.ending {
			o.flushBatch()
		}
		o.sendAll()
		rels := o.inv.Releases(ready)
		ready = false
		for _, r := range rels {
			o.onRelease(r.(*asyncRelease[In, Out]))
		}
		if o.tc.Failed() || (!o.refill() && len(rels) == 0 && len(o.cmds) == 0 && len(o.starts) == 0) {
			return
		}
	}
}

// sendAll sends the commands, then starts the calls: the sequencer must
// know a record before a reply for it can come.
func (o *asyncOp[In, Out]) sendAll() {
	if len(o.cmds) > 0 {
		o.inv.Sequence(&seqCmds[In, Out]{cmds: o.cmds})
		o.cmds = nil
	}
	for i, c := range o.starts {
		o.inv.Invoke(c)
		o.starts[i] = nil
	}
	o.starts = o.starts[:0]
}

// onRelease emits what the sequencer released, in its order, then decides
// on the attempts it reported.
func (o *asyncOp[In, Out]) onRelease(r *asyncRelease[In, Out]) {
	o.calls -= r.replies
	o.stats.Completed += r.completed
	o.stats.Late += r.late
	if o.tc.Failed() {
		return
	}
	if r.fatal != nil {
		o.stats.Failures++
		o.tc.Fail(r.fatal)
		return
	}
	for _, e := range r.out {
		o.ready.Push(e)
	}
	o.emitReady()
	for _, oc := range r.outcomes {
		if o.tc.Failed() {
			return
		}
		o.onOutcome(oc)
	}
}

// emitReady emits the released entries, in order, until the chain's
// output waits for credit; it reports whether none is left. Each entry
// goes whole: what waits for credit stays within one record's results.
func (o *asyncOp[In, Out]) emitReady() bool {
	for o.ready.Len() > 0 && !o.closed && !o.tc.Failed() {
		if o.restoring || o.tc.outputWaits() {
			return false
		}
		o.emit(o.ready.Pop())
	}
	return true
}

// holdingOutput implements outputHolder: released results wait for
// credit.
func (o *asyncOp[In, Out]) holdingOutput() bool {
	return o.ready.Len() > 0 && !o.closed && !o.tc.Failed()
}

// resumeOutput implements outputHolder. Emitting frees slots of the
// ledger: the input held back for them goes in (pump).
func (o *asyncOp[In, Out]) resumeOutput() bool {
	o.restoring = false // the runtime resumes the chain: the job has started
	done := o.emitReady()
	o.pump(false)
	return done && !o.holdingOutput()
}

// emit takes an entry out of the ledger and sends it downstream.
func (o *asyncOp[In, Out]) emit(e released[In, Out]) {
	rec := e.rec
	o.ledger.remove(rec)
	o.timers.unpark(rec)
	rec.state = recReleased
	if rec.marker {
		o.tc.EmitWatermark(rec.ts)
		return
	}
	o.stats.Latency.Observe(o.tc.Now().Sub(rec.start))
	for _, v := range e.results {
		o.out.Collect(v, rec.ts)
	}
}

// onOutcome decides what the end of an attempt means for its record:
// another attempt later, or the timeout or error handler now. Only a
// record flying or expiring awaits a decision; an outcome for one already
// decided (an expiry crossing an error) is ignored.
func (o *asyncOp[In, Out]) onOutcome(oc asyncOutcome[In]) {
	rec := oc.rec
	if rec.state != recFlying && rec.state != recExpiring {
		return
	}
	now := o.tc.Now()
	switch {
	case oc.expired, oc.err != nil && !rec.deadline.IsZero() && !now.Before(rec.deadline):
		// An error after the deadline is the call's context expiring
		// with the record's timeout: a timeout, not a failure.
		o.timeout(rec)
	case oc.retry && o.deadline.Allows(now.Sub(rec.start), oc.delay):
		o.stats.Retries++
		rec.attempt = oc.attempt + 1
		o.timers.schedule(o, rec, now.Add(oc.delay))
	case oc.retry:
		o.timeout(rec) // no retry would start before the timeout
	default:
		o.failRecord(rec, oc.attempt, oc.err)
	}
}

// settle completes a parked record with a handler's results.
func (o *asyncOp[In, Out]) settle(rec *asyncRec[In], res []Out) {
	o.timers.unpark(rec)
	rec.state = recSettled
	o.cmds = append(o.cmds, seqCmd[In, Out]{op: seqSettle, rec: rec, results: res})
}

// timeout runs the timeout handler for a parked record.
func (o *asyncOp[In, Out]) timeout(rec *asyncRec[In]) {
	o.stats.Timeouts++
	var err error
	if o.cfg.OnTimeout == nil {
		err = fmt.Errorf("%w: record #%d (timestamp %d) after %v", ErrAsyncTimeout, rec.seq, rec.ts, o.cfg.Timeout)
	} else {
		var res []Out
		if res, err = o.cfg.OnTimeout(rec.in); err == nil {
			o.settle(rec, res)
			return
		}
		err = fmt.Errorf("async timeout handler, record #%d: %w", rec.seq, err)
	}
	o.fail(rec, err)
}

// failRecord handles a call that failed for good.
func (o *asyncOp[In, Out]) failRecord(rec *asyncRec[In], attempts int, err error) {
	if o.cfg.OnError != nil {
		res, herr := o.cfg.OnError(rec.in, err)
		if herr == nil {
			o.settle(rec, res)
			return
		}
		err = herr
	}
	o.fail(rec, fmt.Errorf("async call for record #%d failed after %d attempt(s): %w", rec.seq, attempts, err))
}

// fail fails the subtask at once (Flink's behaviour): there is no point
// in waiting for the record's turn.
func (o *asyncOp[In, Out]) fail(rec *asyncRec[In], err error) {
	o.timers.unpark(rec)
	rec.state = recSettled
	o.stats.Failures++
	o.tc.Fail(err)
}

// refill moves held-back input into the ledger while it has room, and
// reports whether it moved anything.
func (o *asyncOp[In, Out]) refill() bool {
	moved := false
	for o.overflow.Len() > 0 && !o.full() {
		in := o.overflow.Pop()
		if in.isWM {
			o.putMarker(in.wm)
		} else {
			o.put(in.in, in.ts)
		}
		moved = true
	}
	return moved
}
