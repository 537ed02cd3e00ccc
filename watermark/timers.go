package watermark

import (
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
// Timers are kept by time: one slot per distinct time, holding its
// timers by value in registration order, and a heap of the slots' times.
// Operators set many timers at few times (every key's window ends at the
// same instants), so registering costs a lookup in its slot and an
// append, and firing walks a slot in order, with no per-timer heap
// operation or allocation. Deletion marks the timer in its slot, so Len
// is exact; a slot goes once every timer in it has fired or been
// deleted.
//
// A TimerQueue is not safe for concurrent use: the subtask's goroutine
// owns it.
type TimerQueue[K comparable] struct {
	times []int64 // a min-heap of the times that have a slot
	slots map[int64]*timerSlot[K]
	last  *timerSlot[K] // the slot registered into last: registrations cluster
	front *timerSlot[K] // the slot of times[0], when known
	n     int           // timers registered, not yet fired or deleted
	spare []*timerSlot[K]
	// fresh are slots allocated together, not yet used: a watermark can
	// retire more slots at once than spare keeps (session windows and
	// processing time make a slot per timer), and the slots made after it
	// then cost an allocation per slotChunk instead of one each
	fresh []timerSlot[K]
}

// slotChunk is how many slots newSlot allocates at a time.
const slotChunk = 16

// timerSlot holds the timers of one time. entries[:next] have fired;
// after next, the entries not marked deleted are pending, in firing order.
type timerSlot[K comparable] struct {
	time    int64
	entries []slotEntry[K]
	// at is the index in entries of each key's latest timer here (a key
	// whose timer fired or was deleted may be registered again, at the
	// end); nil until a search of a slot of more than slotScan entries
	// needs it (RegisterNew does not search).
	at   map[K]int32
	next int
	// one backs entries until a second timer at this time: most slots of
	// session windows and processing time hold one, and their entries
	// then need no allocation of their own
	one [1]slotEntry[K]
}

// slotScan is how many entries a slot searches one by one before it
// indexes them in a map: most times of session windows and processing
// time have a few timers, and a map per time would cost more than it
// saves.
const slotScan = 8

type slotEntry[K comparable] struct {
	key     K
	deleted bool
}

// maxSpareSlots bounds the emptied slots kept for reuse (with their map
// and slice), so that a queue whose times move on allocates none.
const maxSpareSlots = 64

// NewTimerQueue returns an empty queue.
func NewTimerQueue[K comparable]() *TimerQueue[K] {
	return &TimerQueue[K]{slots: make(map[int64]*timerSlot[K])}
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

// pending reports whether entry i of s is a timer not yet fired or
// deleted.
func (s *timerSlot[K]) pending(i int32) bool { return int(i) >= s.next && !s.entries[i].deleted }

// Register adds a timer for key at ts and returns true, or returns false
// if that timer is already registered (it keeps its place among ties).
func (q *TimerQueue[K]) Register(key K, ts int64) bool {
	s := q.slotFor(ts)
	if i, ok := s.find(key); ok && s.pending(i) {
		return false
	}
	s.add(key)
	q.n++
	return true
}

// RegisterNew adds a timer for key at ts that the caller knows is not
// registered (a window operator setting the end timer of a window that
// has just got its first record): as Register, without looking for the
// timer first. Registering a timer that is registered makes it fire
// twice.
func (q *TimerQueue[K]) RegisterNew(key K, ts int64) {
	q.slotFor(ts).add(key)
	q.n++
}

// slotFor returns the slot of ts, adding it if there is none.
func (q *TimerQueue[K]) slotFor(ts int64) *timerSlot[K] {
	s := q.last
	if s == nil || s.time != ts {
		s = q.slots[ts]
		if s == nil {
			s = q.newSlot(ts)
		}
		q.last = s
	}
	return s
}

// find returns the index of key's latest entry in s, indexing the
// entries first if there are more than slotScan.
func (s *timerSlot[K]) find(key K) (int32, bool) {
	if s.at == nil && len(s.entries) > slotScan {
		s.at = make(map[K]int32, 2*len(s.entries))
		for j, e := range s.entries { // in order: a key's latest entry wins
			s.at[e.key] = int32(j)
		}
	}
	if s.at != nil {
		i, ok := s.at[key]
		return i, ok
	}
	for i := len(s.entries) - 1; i >= 0; i-- {
		if s.entries[i].key == key {
			return int32(i), true
		}
	}
	return 0, false
}

// add appends an entry for key, indexed if the slot has an index.
func (s *timerSlot[K]) add(key K) {
	if s.at != nil {
		s.at[key] = int32(len(s.entries))
	}
	s.entries = append(s.entries, slotEntry[K]{key: key})
}

// newSlot adds an empty slot for ts.
func (q *TimerQueue[K]) newSlot(ts int64) *timerSlot[K] {
	var s *timerSlot[K]
	if k := len(q.spare); k > 0 {
		s, q.spare = q.spare[k-1], q.spare[:k-1]
	} else {
		if len(q.fresh) == 0 {
			q.fresh = make([]timerSlot[K], slotChunk)
		}
		s, q.fresh = &q.fresh[0], q.fresh[1:]
		s.entries = s.one[:0]
	}
	s.time = ts
	q.slots[ts] = s
	q.pushTime(ts)
	return s
}

// Delete removes the timer for key at ts and returns true, or returns
// false if there is none.
func (q *TimerQueue[K]) Delete(key K, ts int64) bool {
	s := q.last
	if s == nil || s.time != ts {
		if s = q.slots[ts]; s == nil {
			return false
		}
	}
	i, ok := s.find(key)
	if !ok || !s.pending(i) {
		return false
	}
	s.entries[i].deleted = true
	q.n--
	return true
}

// Contains reports whether a timer for key at ts is registered.
func (q *TimerQueue[K]) Contains(key K, ts int64) bool {
	s := q.slots[ts]
	if s == nil {
		return false
	}
	i, ok := s.find(key)
	return ok && s.pending(i)
}

// Len returns the number of timers registered.
func (q *TimerQueue[K]) Len() int { return q.n }

// PeekTime returns the time of the next timer to fire; ok is false if
// there is none. The runtime uses it to set its processing-time clock.
func (q *TimerQueue[K]) PeekTime() (ts int64, ok bool) {
	s := q.head()
	if s == nil {
		return 0, false
	}
	return s.time, true
}

// head returns the slot of the earliest pending timer, its next entry
// pending, retiring the slots before it that have none; nil if no timer
// is pending.
func (q *TimerQueue[K]) head() *timerSlot[K] {
	for len(q.times) > 0 {
		s := q.front
		if s == nil || s.time != q.times[0] {
			s = q.slots[q.times[0]]
			q.front = s
		}
		for s.next < len(s.entries) && s.entries[s.next].deleted {
			s.next++
		}
		if s.next < len(s.entries) {
			return s
		}
		q.retire(s)
	}
	return nil
}

// retire drops the slot of times[0], in which nothing is pending, and
// keeps it for reuse.
func (q *TimerQueue[K]) retire(s *timerSlot[K]) {
	q.popTime()
	delete(q.slots, s.time)
	if q.last == s {
		q.last = nil
	}
	q.front = nil
	clear(s.entries) // drop references to keys: the slot's chunk may live on
	s.entries, s.next = s.entries[:0], 0
	if len(q.spare) < maxSpareSlots {
		if s.at != nil {
			clear(s.at)
		}
		q.spare = append(q.spare, s)
	} else {
		s.at = nil
	}
}

// popHead removes the earliest pending timer if its time is ≤ ts.
func (q *TimerQueue[K]) popHead(ts int64) (t Timer[K], ok bool) {
	s := q.head()
	if s == nil || s.time > ts {
		return t, false
	}
	t = Timer[K]{Key: s.entries[s.next].key, Time: s.time}
	s.next++
	q.n--
	return t, true
}

// PopUpTo removes every timer with a time ≤ ts and calls fn for each, in
// firing order, and returns how many fired. Each timer is removed before
// fn is called, so fn may register and delete timers: one it registers at
// a time ≤ ts fires in this same call, as in Flink (fn must therefore not
// keep registering such timers forever).
func (q *TimerQueue[K]) PopUpTo(ts int64, fn func(key K, ts int64)) int {
	return popAll(ts, q.popHead, fn)
}

// popAll calls pop(ts) until it finds no timer, and fn with each timer
// it removes; it returns how many there were.
func popAll[K comparable](ts int64, pop func(int64) (Timer[K], bool), fn func(key K, ts int64)) int {
	n := 0
	for {
		t, ok := pop(ts)
		if !ok {
			return n
		}
		fn(t.Key, t.Time)
		n++
	}
}

// PopNext removes the next timer to fire if its time is ≤ ts and returns
// it; ok is false if there is none. A caller that fires timers one at a
// time, handing each to code that may register more, sees those at a
// time ≤ ts too, in the order PopUpTo would fire them.
func (q *TimerQueue[K]) PopNext(ts int64) (t Timer[K], ok bool) { return q.popHead(ts) }

// All returns every timer in firing order, for a snapshot; restore it
// with RestoreTimerQueue. The queue is unchanged.
func (q *TimerQueue[K]) All() []Timer[K] {
	times := slices.Sorted(func(yield func(int64) bool) {
		for _, t := range q.times {
			if !yield(t) {
				return
			}
		}
	})
	out := make([]Timer[K], 0, q.n)
	for _, ts := range times {
		s := q.slots[ts]
		for i := s.next; i < len(s.entries); i++ {
			if !s.entries[i].deleted {
				out = append(out, Timer[K]{Key: s.entries[i].key, Time: ts})
			}
		}
	}
	return out
}

// pushTime adds ts to the heap of times.
func (q *TimerQueue[K]) pushTime(ts int64) {
	h := append(q.times, ts)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p] <= h[i] {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
	q.times = h
}

// popTime removes the smallest time from the heap.
func (q *TimerQueue[K]) popTime() {
	h := q.times
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		c := 2*i + 1
		if c >= len(h) {
			break
		}
		if c+1 < len(h) && h[c+1] < h[c] {
			c++
		}
		if h[i] <= h[c] {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	q.times = h
}
