package operators

import (
	"container/heap"
	"time"
)

// asyncTimers are an async operator's processing-time timers. Timeouts
// keep a FIFO, since every record's deadline is its start plus the same
// timeout; retries keep a heap, since their delays differ. Entries of
// records that completed meanwhile are dropped lazily when they reach the
// front, so completing a record costs nothing here.
type asyncTimers[In any] struct {
	deadlines fifo[*asyncRec[In]]
	retries   retryHeap[In]
	retrying  int       // records with a scheduled retry
	batchDue  time.Time // when the batch being gathered must go
}

type retryEntry[In any] struct {
	rec *asyncRec[In]
	at  time.Time
}

// schedule records the record's next attempt, to start at at.
func (t *asyncTimers[In]) schedule(o asyncRetrier[In], rec *asyncRec[In], at time.Time) {
	rec.retrying = true
	t.retrying++
	heap.Push(&t.retries, retryEntry[In]{rec: rec, at: at})
	if o.endingInput() { // at end of input retries do not wait
		t.fireRetries(o)
	}
}

// unschedule forgets a record's scheduled retry, if any.
func (t *asyncTimers[In]) unschedule(rec *asyncRec[In]) {
	if rec.retrying {
		rec.retrying = false
		t.retrying--
	}
}

// fireRetries starts every scheduled retry now.
func (t *asyncTimers[In]) fireRetries(o asyncRetrier[In]) {
	for t.retries.Len() > 0 {
		t.fireNext(o)
	}
}

func (t *asyncTimers[In]) fireNext(o asyncRetrier[In]) {
	e := heap.Pop(&t.retries).(retryEntry[In])
	if e.rec.retrying {
		t.unschedule(e.rec)
		o.retry(e.rec)
	}
}

// asyncRetrier is the operator as the timers see it.
type asyncRetrier[In any] interface {
	endingInput() bool
	retry(rec *asyncRec[In])
}

func (o *asyncOp[In, Out]) endingInput() bool { return o.ending }

// retry starts the record's next attempt, numbered when it was scheduled.
func (o *asyncOp[In, Out]) retry(rec *asyncRec[In]) {
	if att, ok := o.q.Attempt(rec.h); ok {
		o.send(callItem[In]{rec: rec, attempt: att})
	}
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
	for t.deadlines.len() > 0 {
		if _, live := o.q.Attempt(t.deadlines.peek().h); live {
			consider(t.deadlines.peek().deadline)
			break
		}
		t.deadlines.pop()
	}
	for t.retries.Len() > 0 && !t.retries[0].rec.retrying {
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
	for t.deadlines.len() > 0 && !t.deadlines.peek().deadline.After(now) && !o.tc.Failed() {
		rec := t.deadlines.pop()
		if _, live := o.q.Attempt(rec.h); live {
			o.timeout(rec)
		}
	}
	for t.retries.Len() > 0 && !t.retries[0].at.After(now) && !o.tc.Failed() {
		t.fireNext(o)
	}
	if len(o.pending) > 0 && !t.batchDue.After(now) {
		o.flush()
	}
	o.drain()
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

// fifo is a slice-backed queue that reuses its storage.
type fifo[T any] struct {
	items []T
	head  int
}

func (f *fifo[T]) len() int { return len(f.items) - f.head }

func (f *fifo[T]) peek() T { return f.items[f.head] }

func (f *fifo[T]) push(v T) {
	if f.head > 0 && f.head == len(f.items) {
		f.items, f.head = f.items[:0], 0
	} else if f.head > 32 && 2*f.head >= len(f.items) {
		n := copy(f.items, f.items[f.head:])
		clear(f.items[n:])
		f.items, f.head = f.items[:n], 0
	}
	f.items = append(f.items, v)
}

func (f *fifo[T]) pop() T {
	var zero T
	v := f.items[f.head]
	f.items[f.head] = zero
	f.head++
	return v
}
