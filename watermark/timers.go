package watermark

import (
	"cmp"
	"container/heap"
	"slices"
)

// Timer is a keyed timer: it fires for Key when time reaches Time (epoch
// milliseconds, event time or processing time by the queue's domain).
type Timer[K comparable] struct {
	Key  K
	Time int64
}

// TimerQueue holds the timers of one time domain of a keyed operator
// subtask, each (key, time) at most once, and fires them in time order;
// timers with the same time fire in the order they were registered.
//
// Deletion is eager (each entry knows its heap index), so Len is exact
// and deleted timers cost no memory: window operators delete a timer for
// nearly every one they register.
//
// A TimerQueue is not safe for concurrent use: the subtask's goroutine
// owns it.
type TimerQueue[K comparable] struct {
	h    timerHeap[K]
	byID map[Timer[K]]*timerEntry[K]
	seq  uint64 // registrations so far: the tie-breaker
}

type timerEntry[K comparable] struct {
	timer Timer[K]
	seq   uint64
	index int // in the heap, kept by Swap
}

// NewTimerQueue returns an empty queue.
func NewTimerQueue[K comparable]() *TimerQueue[K] {
	return &TimerQueue[K]{byID: make(map[Timer[K]]*timerEntry[K])}
}

// RestoreTimerQueue returns a queue holding timers, registered in slice
// order, as All returned them at a snapshot: ties then fire in the same
// order as they would have. Duplicates are kept once.
func RestoreTimerQueue[K comparable](timers []Timer[K]) *TimerQueue[K] {
	q := NewTimerQueue[K]()
	for _, t := range timers {
		q.Register(t.Key, t.Time)
	}
	return q
}

// Register adds a timer for key at ts and returns true, or returns false
// if that timer is already registered (it keeps its place among ties).
func (q *TimerQueue[K]) Register(key K, ts int64) bool {
	t := Timer[K]{Key: key, Time: ts}
	if _, ok := q.byID[t]; ok {
		return false
	}
	q.seq++
	e := &timerEntry[K]{timer: t, seq: q.seq}
	q.byID[t] = e
	heap.Push(&q.h, e)
	return true
}

// Delete removes the timer for key at ts in O(log n) and returns true, or
// returns false if there is none.
func (q *TimerQueue[K]) Delete(key K, ts int64) bool {
	t := Timer[K]{Key: key, Time: ts}
	e, ok := q.byID[t]
	if !ok {
		return false
	}
	delete(q.byID, t)
	heap.Remove(&q.h, e.index)
	return true
}

// Len returns the number of timers registered.
func (q *TimerQueue[K]) Len() int { return len(q.h) }

// PeekTime returns the time of the next timer to fire; ok is false if
// there is none. The runtime uses it to set its processing-time clock.
func (q *TimerQueue[K]) PeekTime() (ts int64, ok bool) {
	if len(q.h) == 0 {
		return 0, false
	}
	return q.h[0].timer.Time, true
}

// PopUpTo removes every timer with a time ≤ ts and calls fn for each, in
// firing order, and returns how many fired. Each timer is removed before
// fn is called, so fn may register and delete timers: one it registers at
// a time ≤ ts fires in this same call, as in Flink (fn must therefore not
// keep registering such timers forever).
func (q *TimerQueue[K]) PopUpTo(ts int64, fn func(key K, ts int64)) int {
	n := 0
	for len(q.h) > 0 && q.h[0].timer.Time <= ts {
		e := heap.Pop(&q.h).(*timerEntry[K])
		delete(q.byID, e.timer)
		fn(e.timer.Key, e.timer.Time)
		n++
	}
	return n
}

// PopNext removes the next timer to fire if its time is ≤ ts and returns
// it; ok is false if there is none. A caller that fires timers one at a
// time, handing each to code that may register more, sees those at a
// time ≤ ts too, in the order PopUpTo would fire them.
func (q *TimerQueue[K]) PopNext(ts int64) (t Timer[K], ok bool) {
	if len(q.h) == 0 || q.h[0].timer.Time > ts {
		return t, false
	}
	e := heap.Pop(&q.h).(*timerEntry[K])
	delete(q.byID, e.timer)
	return e.timer, true
}

// All returns every timer in firing order, for a snapshot; restore it
// with RestoreTimerQueue. The queue is unchanged.
func (q *TimerQueue[K]) All() []Timer[K] {
	es := slices.Clone(q.h)
	slices.SortFunc(es, compareEntries[K])
	out := make([]Timer[K], len(es))
	for i, e := range es {
		out[i] = e.timer
	}
	return out
}

func compareEntries[K comparable](a, b *timerEntry[K]) int {
	return cmp.Or(cmp.Compare(a.timer.Time, b.timer.Time), cmp.Compare(a.seq, b.seq))
}

// timerHeap is a min-heap by (time, registration) for container/heap.
type timerHeap[K comparable] []*timerEntry[K]

func (h timerHeap[K]) Len() int           { return len(h) }
func (h timerHeap[K]) Less(i, j int) bool { return compareEntries(h[i], h[j]) < 0 }

func (h timerHeap[K]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *timerHeap[K]) Push(x any) {
	e := x.(*timerEntry[K])
	e.index = len(*h)
	*h = append(*h, e)
}

func (h *timerHeap[K]) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil // let the entry be collected
	*h = old[:len(old)-1]
	return e
}
