package async

import (
	"cmp"
	"slices"
)

// Mode returns the mode the queue was created with.
func (q *Queue[In, Out]) Mode() Mode { return q.mode }

// Cap returns the most entries, records and markers, the queue holds.
func (q *Queue[In, Out]) Cap() int { return q.capacity }

// Len returns the number of entries, records and markers, put and not yet
// popped.
func (q *Queue[In, Out]) Len() int { return q.live }

// Full reports whether Put and PutMarker would return ErrFull. The runtime
// then stops consuming input and granting credit upstream.
func (q *Queue[In, Out]) Full() bool { return q.live == q.capacity }

// Empty reports whether every entry put has been popped, for example to
// finish at end of input.
func (q *Queue[In, Out]) Empty() bool { return q.live == 0 }

// Attempt returns the current attempt number, from 1, of a record awaiting
// completion, or false if h names no such record. Invokers' replies carry
// the attempt they answer, so that a late or repeated reply to an earlier
// attempt is told apart and cannot start a second retry chain.
func (q *Queue[In, Out]) Attempt(h Handle) (int, bool) {
	e := q.awaiting(h)
	if e == nil {
		return 0, false
	}
	return e.attempt, true
}

// NextAttempt records that the record is about to be invoked again and
// returns the new attempt number, or false if h names no record awaiting
// completion.
func (q *Queue[In, Out]) NextAttempt(h Handle) (int, bool) {
	e := q.awaiting(h)
	if e == nil {
		return 0, false
	}
	e.attempt++
	return e.attempt, true
}

// Pending returns, in input order, every entry put and not yet popped:
// records (completed or not) and the markers between them. It is what a
// snapshot stores; on restore the runtime puts them into a new Queue in
// this order and invokes the records again. A marker is put back only in
// the subtask that held it, at an unchanged parallelism: after a rescale
// a queue gets records of other subtasks, which another's watermark would
// make late. It allocates and sorts, which is fine once per checkpoint.
func (q *Queue[In, Out]) Pending() []PendingEntry[In] {
	live := make([]int32, 0, q.live)
	for i := range q.slots {
		if q.slots[i].seq != 0 {
			live = append(live, int32(i))
		}
	}
	slices.SortFunc(live, func(a, b int32) int { return cmp.Compare(q.slots[a].seq, q.slots[b].seq) })
	out := make([]PendingEntry[In], len(live))
	for i, s := range live {
		e := &q.slots[s]
		out[i] = PendingEntry[In]{Kind: e.kind, In: e.in, Ts: e.ts, Key: e.key, Marker: e.marker}
	}
	return out
}
