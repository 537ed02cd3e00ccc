package operators

import (
	"container/heap"
	"time"

	"github.com/troupe-dev/troupe/mailbox"
)

// asyncTimers are an async operator's processing-time timers, kept by the
// core on the subtask's goroutine. Timeouts keep a FIFO, since every
// record's deadline is its start plus the same timeout; retries keep a
// heap, since their delays differ. Entries of records that were decided
// or emitted meanwhile are dropped lazily when they reach the front, so
// completing a record costs nothing here.
type asyncTimers[In any] struct {
	deadlines mailbox.Queue[*asyncRec[In]]
	retries   retryHeap[In]
	parked    int       // records with a scheduled retry
	batchDue  time.Time // when the batch being gathered must go
}

type retryEntry[In any] struct {
	rec *asyncRec[In]
	at  time.Time
}

// schedule parks the record until its next attempt, to start at at.
func (t *asyncTimers[In]) schedule(o asyncRetrier[In], rec *asyncRec[In], at time.Time) {
	rec.state = recParked
	t.parked++
	heap.Push(&t.retries, retryEntry[In]{rec: rec, at: at})
	if o.endingInput() { // at end of input retries do not wait
		t.fireRetries(o)
	}
}

// unpark forgets a record's scheduled retry, if any; the caller sets its
// new state.
func (t *asyncTimers[In]) unpark(rec *asyncRec[In]) {
	if rec.state == recParked {
		rec.state = recFlying
		t.parked--
	}
}

// fireRetries starts every scheduled retry now.
func (t *asyncTimers[In]) fireRetries(o asyncRetrier[In]) {
	for t.retries.Len() > 0 {
		t.fireNext(o)
	}
}

// fireNext starts the earliest scheduled retry, if its record still waits
// for it (a record parked once has one entry in the heap).
func (t *asyncTimers[In]) fireNext(o asyncRetrier[In]) {
	e := heap.Pop(&t.retries).(retryEntry[In])
	if e.rec.state == recParked {
		t.unpark(e.rec)
		o.retry(e.rec)
	}
}

// asyncRetrier is the operator as the timers see it.
type asyncRetrier[In any] interface {
	endingInput() bool
	retry(rec *asyncRec[In])
}

func (o *asyncOp[In, Out]) endingInput() bool { return o.ending }

// retry starts the record's next attempt, numbered when it was scheduled:
// the sequencer, which parked the record, takes replies to that attempt.
func (o *asyncOp[In, Out]) retry(rec *asyncRec[In]) {
	o.send(callItem[In]{rec: rec, attempt: rec.attempt})
}

// timed reports whether a record's deadline still matters: it is flying
// (the core will ask the sequencer to expire it) or parked (the core
// times it out itself).
func timed[In any](rec *asyncRec[In]) bool {
	return rec.state == recFlying || rec.state == recParked
}

// NextProcessingTime returns the earliest of the oldest live deadline, the
// next retry and the batch timeout.
func (o *asyncOp[In, Out]) NextProcessingTime() (time.Time, bool) {
	if o.closed {
		return time.Time{}, false
	}
	t := &o.timers
	var next time.Time
	consider := func(at time.Time) {
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	for t.deadlines.Len() > 0 && !timed(t.deadlines.Peek()) {
		t.deadlines.Pop()
	}
	if t.deadlines.Len() > 0 {
		consider(t.deadlines.Peek().deadline)
	}
	for t.retries.Len() > 0 && t.retries[0].rec.state != recParked {
		heap.Pop(&t.retries)
	}
	if t.retries.Len() > 0 {
		consider(t.retries[0].at)
	}
	if len(o.pending) > 0 && o.batch > 1 {
		consider(t.batchDue)
	}
	return next, !next.IsZero()
}

// OnProcessingTime fires the timeouts, retries and batch due by now.
// Timeouts go first: a record whose timeout has come is not retried.
func (o *asyncOp[In, Out]) OnProcessingTime(now time.Time) {
	t := &o.timers
	for t.deadlines.Len() > 0 && !t.deadlines.Peek().deadline.After(now) && !o.tc.Failed() {
		o.expire(t.deadlines.Pop())
	}
	for t.retries.Len() > 0 && !t.retries[0].at.After(now) && !o.tc.Failed() {
		t.fireNext(o)
	}
	if len(o.pending) > 0 && !t.batchDue.After(now) {
		o.flushBatch()
	}
	o.pump(false)
}

// expire acts on a record whose deadline has come. A parked record is the
// core's to time out; a flying one the sequencer may be completing right
// now, so the core asks it to park the record, and runs the timeout
// handler only if the sequencer reports it parked (see onOutcome).
func (o *asyncOp[In, Out]) expire(rec *asyncRec[In]) {
	switch rec.state {
	case recParked:
		o.timeout(rec)
	case recFlying:
		rec.state = recExpiring
		o.cmds = append(o.cmds, seqCmd[In, Out]{op: seqExpire, rec: rec})
	}
}

// retryHeap orders scheduled retries by time (container/heap).
type retryHeap[In any] []retryEntry[In]

func (h retryHeap[In]) Len() int           { return len(h) }
func (h retryHeap[In]) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h retryHeap[In]) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }

func (h *retryHeap[In]) Push(x any) { *h = append(*h, x.(retryEntry[In])) }

func (h *retryHeap[In]) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = retryEntry[In]{}
	*h = old[:len(old)-1]
	return e
}
