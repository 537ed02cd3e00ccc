package watermark

import (
	"slices"
)

// GroupedTimerQueue holds the same timers as a [TimerQueue], with the
// same operations and results, kept for timers that move: a session
// window's end timer is deleted and registered again at a later time by
// nearly every record of its key, each time at a millisecond of its own.
// A TimerQueue pays for each move in its index of times (a slot made,
// found and retired per time); this queue keeps the timers of each group
// (a function of the key: the operator's key, without its window) in a
// short list of their own, found with one lookup of the group, and a
// heap with one entry per group, not per timer.
//
// That entry is a hint: a (time, registration) stamp at or before every
// timer of its group. Registering a timer that comes before its group's
// hint pushes a new hint; deleting or moving a timer changes only the
// group's list. When the hint reaches the top of the heap, the group's
// earliest timer is looked up: if it is the hint's, it fires, and
// otherwise the hint moves on to it (a session extended since costs one
// heap operation per hint that comes due, not one per move). Hints that
// a newer hint of their group replaced, or whose group has gone, are
// skipped when they come to the top.
//
// The timers themselves are exact: Len, Contains and All count and
// return the registered timers only, and timers fire in time order, ties
// in the order they were registered, as in a TimerQueue (the same fuzz
// test holds both to one model).
//
// A group's list is kept in firing order, so that a key with many
// timers (sessions kept for a long allowed lateness) costs a binary
// search per operation, and firing takes its first. The queue suits
// timers spread over many times, a few per key; a TimerQueue suits many
// timers at few times (every key's tumbling window ends at the same
// instant), which it fires without a heap operation per key.
//
// A GroupedTimerQueue is not safe for concurrent use: the subtask's
// goroutine owns it.
type GroupedTimerQueue[K comparable, G comparable] struct {
	group  func(K) G
	groups map[G]*timerGroup[K]
	// last is the group of the last operation, lastG its group value:
	// a window operator moves a timer of the current key by a register
	// and a delete in a row
	last  *timerGroup[K]
	lastG G
	hints []groupHint[G] // a min-heap by stamp
	n     int            // timers registered, not yet fired or deleted
	seq   int64          // the registration stamp of the next timer
	free  []*timerGroup[K]
}

// stamp orders timers: by time, ties by registration.
type stamp struct{ time, seq int64 }

func (a stamp) before(b stamp) bool {
	return a.time < b.time || (a.time == b.time && a.seq < b.seq)
}

// timerGroup is a group's timers and its hint: the stamp of the group's
// newest entry in the heap, at or before all its timers. timers[head:]
// are the timers, in firing order; the ones before head have fired.
type timerGroup[K comparable] struct {
	timers []groupTimer[K]
	head   int
	hint   stamp
}

type groupTimer[K comparable] struct {
	key K
	at  stamp
}

type groupHint[G comparable] struct {
	at    stamp
	group G
}

// maxFreeGroups bounds the emptied groups kept for reuse: a watermark
// fires the sessions of thousands of keys, and their lists serve the
// keys that come next.
const maxFreeGroups = 1 << 12

// NewGroupedTimerQueue returns an empty queue whose timers are grouped
// by group(key).
func NewGroupedTimerQueue[K comparable, G comparable](group func(K) G) *GroupedTimerQueue[K, G] {
	return &GroupedTimerQueue[K, G]{group: group, groups: make(map[G]*timerGroup[K])}
}

// entry returns group g's timers; if it has none, a new empty group when
// add is true and nil otherwise.
func (q *GroupedTimerQueue[K, G]) entry(g G, add bool) *timerGroup[K] {
	if q.last != nil && q.lastG == g {
		return q.last
	}
	e := q.groups[g]
	if e == nil {
		if !add {
			return nil
		}
		e = q.newGroup(g)
	}
	q.last, q.lastG = e, g
	return e
}

func (q *GroupedTimerQueue[K, G]) newGroup(g G) *timerGroup[K] {
	var e *timerGroup[K]
	if k := len(q.free); k > 0 {
		e, q.free = q.free[k-1], q.free[:k-1]
	} else {
		e = &timerGroup[K]{timers: make([]groupTimer[K], 0, 2)}
	}
	q.groups[g] = e
	return e
}

// len returns the number of e's timers.
func (e *timerGroup[K]) len() int { return len(e.timers) - e.head }

// first returns the index of e's first timer to fire; e has one.
func (e *timerGroup[K]) first() int { return e.head }

// search returns the index of e's first timer whose time is ≥ ts, or
// with after, > ts.
func (e *timerGroup[K]) search(ts int64, after bool) int {
	lo, hi := e.head, len(e.timers)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t := e.timers[m].at.time; t < ts || (after && t == ts) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// find returns the index of the timer (key, ts) in e, or -1.
func (e *timerGroup[K]) find(key K, ts int64) int {
	for i := e.search(ts, false); i < len(e.timers) && e.timers[i].at.time == ts; i++ {
		if e.timers[i].key == key {
			return i
		}
	}
	return -1
}

// insert adds t, registered after every timer of e, in firing order:
// after the timers of its time and before the later ones.
func (e *timerGroup[K]) insert(t groupTimer[K]) {
	if e.head > 0 && len(e.timers) == cap(e.timers) { // reuse the fired prefix before growing
		n := copy(e.timers, e.timers[e.head:])
		clear(e.timers[n:])
		e.timers, e.head = e.timers[:n], 0
	}
	e.timers = slices.Insert(e.timers, e.search(t.at.time, true), t)
}

// Register adds a timer for key at ts and returns true, or returns false
// if that timer is already registered (it keeps its place among ties).
func (q *GroupedTimerQueue[K, G]) Register(key K, ts int64) bool {
	g := q.group(key)
	e := q.entry(g, true)
	if e.find(key, ts) >= 0 {
		return false
	}
	q.add(e, g, key, ts)
	return true
}

// RegisterNew adds a timer for key at ts that the caller knows is not
// registered: as Register, without looking for it first. Registering a
// timer that is registered makes it fire twice.
func (q *GroupedTimerQueue[K, G]) RegisterNew(key K, ts int64) {
	g := q.group(key)
	q.add(q.entry(g, true), g, key, ts)
}

// add appends a timer to group g, whose timers are e, and hints at it
// if it comes before the group's hint (or the group was empty).
func (q *GroupedTimerQueue[K, G]) add(e *timerGroup[K], g G, key K, ts int64) {
	at := stamp{ts, q.seq}
	q.seq++
	e.insert(groupTimer[K]{key: key, at: at})
	q.n++
	if e.len() == 1 || at.before(e.hint) {
		e.hint = at
		q.pushHint(groupHint[G]{at: at, group: g})
	}
}

// Delete removes the timer for key at ts and returns true, or returns
// false if there is none. The group's hint stays: it comes before the
// timers left, and moves on to them when it comes due.
func (q *GroupedTimerQueue[K, G]) Delete(key K, ts int64) bool {
	g := q.group(key)
	e := q.entry(g, false)
	if e == nil {
		return false
	}
	i := e.find(key, ts)
	if i < 0 {
		return false
	}
	q.remove(e, g, i)
	return true
}

// remove drops timer i of group g, and the group once it is empty.
func (q *GroupedTimerQueue[K, G]) remove(e *timerGroup[K], g G, i int) {
	var zero groupTimer[K]
	if i == e.head {
		e.timers[i] = zero // drop references to the key
		e.head++
	} else {
		e.timers = slices.Delete(e.timers, i, i+1) // zeroes the last
	}
	q.n--
	if e.len() > 0 {
		return
	}
	e.timers, e.head = e.timers[:0], 0 // the fired prefix is zeroed already
	delete(q.groups, g)                // its hints are skipped: their group has gone
	if q.last == e {
		q.last = nil
	}
	if len(q.free) < maxFreeGroups {
		q.free = append(q.free, e)
	}
}

// Contains reports whether a timer for key at ts is registered.
func (q *GroupedTimerQueue[K, G]) Contains(key K, ts int64) bool {
	e := q.entry(q.group(key), false)
	return e != nil && e.find(key, ts) >= 0
}

// Len returns the number of timers registered.
func (q *GroupedTimerQueue[K, G]) Len() int { return q.n }

// PeekTime returns the time of the next timer to fire; ok is false if
// there is none.
func (q *GroupedTimerQueue[K, G]) PeekTime() (ts int64, ok bool) {
	e, i := q.head()
	if e == nil {
		return 0, false
	}
	return e.timers[i].at.time, true
}

// head returns the group of the next timer to fire and its index there,
// the group's hint at the top of the heap; nil if no timer is
// registered. Hints on the way are dropped if stale and moved on to
// their group's earliest timer if it has moved.
func (q *GroupedTimerQueue[K, G]) head() (*timerGroup[K], int) {
	for len(q.hints) > 0 {
		h := q.hints[0]
		e := q.groups[h.group]
		if e == nil || e.hint != h.at {
			q.popHint()
			continue
		}
		i := e.first()
		if at := e.timers[i].at; at != h.at {
			e.hint = at
			q.replaceTop(groupHint[G]{at: at, group: h.group})
			continue
		}
		return e, i
	}
	return nil, 0
}

// popHead removes the earliest timer if its time is ≤ ts.
func (q *GroupedTimerQueue[K, G]) popHead(ts int64) (t Timer[K], ok bool) {
	e, i := q.head()
	if e == nil || e.timers[i].at.time > ts {
		return t, false
	}
	g := q.hints[0].group
	t = Timer[K]{Key: e.timers[i].key, Time: e.timers[i].at.time}
	q.remove(e, g, i)
	if e.len() == 0 {
		q.popHint()
		return t, true
	}
	e.hint = e.timers[e.first()].at
	q.replaceTop(groupHint[G]{at: e.hint, group: g})
	return t, true
}

// PopUpTo removes every timer with a time ≤ ts and calls fn for each, in
// firing order, and returns how many fired; fn may register and delete
// timers, as with TimerQueue.PopUpTo.
func (q *GroupedTimerQueue[K, G]) PopUpTo(ts int64, fn func(key K, ts int64)) int {
	return popAll(ts, q.popHead, fn)
}

// PopNext removes the next timer to fire if its time is ≤ ts and returns
// it; ok is false if there is none.
func (q *GroupedTimerQueue[K, G]) PopNext(ts int64) (t Timer[K], ok bool) { return q.popHead(ts) }

// All returns every timer in firing order, for a snapshot; registering
// them in that order into an empty queue restores it. The queue is
// unchanged.
func (q *GroupedTimerQueue[K, G]) All() []Timer[K] {
	all := make([]groupTimer[K], 0, q.n)
	for _, e := range q.groups {
		all = append(all, e.timers[e.head:]...)
	}
	slices.SortFunc(all, func(a, b groupTimer[K]) int {
		switch {
		case a.at.before(b.at):
			return -1
		case b.at.before(a.at):
			return 1
		}
		return 0
	})
	out := make([]Timer[K], len(all))
	for i, t := range all {
		out[i] = Timer[K]{Key: t.key, Time: t.at.time}
	}
	return out
}

// pushHint adds h to the heap.
func (q *GroupedTimerQueue[K, G]) pushHint(h groupHint[G]) {
	q.hints = append(q.hints, h)
	hs := q.hints
	for i := len(hs) - 1; i > 0; {
		p := (i - 1) / 2
		if !hs[i].at.before(hs[p].at) {
			break
		}
		hs[p], hs[i] = hs[i], hs[p]
		i = p
	}
}

// popHint removes the top of the heap.
func (q *GroupedTimerQueue[K, G]) popHint() {
	last := len(q.hints) - 1
	top := q.hints[last]
	var zero groupHint[G]
	q.hints[last] = zero
	q.hints = q.hints[:last]
	if last > 0 {
		q.replaceTop(top)
	}
}

// replaceTop puts h at the top of the heap, in place of the top, and
// sifts it down.
func (q *GroupedTimerQueue[K, G]) replaceTop(h groupHint[G]) {
	hs := q.hints
	i := 0
	for {
		c := 2*i + 1
		if c >= len(hs) {
			break
		}
		if c+1 < len(hs) && hs[c+1].at.before(hs[c].at) {
			c++
		}
		if !hs[c].at.before(h.at) {
			break
		}
		hs[i] = hs[c]
		i = c
	}
	hs[i] = h
}
