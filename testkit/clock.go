package testkit

import (
	"container/heap"
	"sync"
	"time"
)

// Clock is the time source of code that schedules timers. The runtime will
// accept one, so that tests can drive its timers with a ManualClock.
// Implementations are safe for concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f once, after d has passed, and returns a Timer
	// that can cancel the call. Where f runs depends on the clock.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a scheduled call of a Clock.
type Timer interface {
	// Stop prevents the call; it reports false if the call already
	// happened or the timer was stopped before.
	Stop() bool
}

// RealClock returns the Clock of the time package: Now is time.Now and
// AfterFunc is time.AfterFunc, whose f runs in its own goroutine.
func RealClock() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time                            { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// ManualClock is a Clock whose time moves only when the test calls
// Advance; timers fire synchronously inside Advance, on the caller's
// goroutine. It is safe for concurrent use, and timer functions may call
// Now, AfterFunc and Stop, but never Advance (that deadlocks).
type ManualClock struct {
	advancing sync.Mutex // serializes Advance so timers fire in time order
	mu        sync.Mutex // guards the fields below
	now       time.Time
	seq       uint64 // orders timers due at the same instant by creation
	timers    timerHeap
}

var _ Clock = (*ManualClock)(nil)

// NewManualClock returns a clock that reads start until advanced.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start}
}

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f to run when the clock has been advanced by d. A
// timer with d <= 0 is due at once and fires at the next Advance, even
// Advance(0): never inside AfterFunc, where the caller may hold locks.
func (c *ManualClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &manualTimer{clock: c, when: c.now.Add(max(d, 0)), seq: c.seq, f: f}
	heap.Push(&c.timers, t)
	return t
}

// Advance moves the clock forward by d and fires, in time order (timers due
// at the same instant in the order they were created), every timer due by
// then, each exactly once. While a timer fires, Now returns the time it was
// due; timers it schedules fire in the same Advance if they are due by its
// end. Advance panics if d is negative: a clock never goes back.
func (c *ManualClock) Advance(d time.Duration) {
	if d < 0 {
		panic("testkit: ManualClock.Advance with a negative duration")
	}
	c.advancing.Lock()
	defer c.advancing.Unlock()
	c.mu.Lock()
	end := c.now.Add(d)
	for len(c.timers) > 0 && !c.timers[0].when.After(end) {
		t := heap.Pop(&c.timers).(*manualTimer)
		c.now = t.when
		c.mu.Unlock()
		t.f() // without the lock: f may schedule or stop timers
		c.mu.Lock()
	}
	c.now = end
	c.mu.Unlock()
}

// Pending returns how many timers are scheduled and neither fired nor
// stopped.
func (c *ManualClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// manualTimer is a timer of a ManualClock; index is its position in the
// clock's heap, -1 once it fired or was stopped.
type manualTimer struct {
	clock *ManualClock
	when  time.Time
	seq   uint64
	f     func()
	index int
}

// Stop removes the timer from its clock, reporting whether it was pending.
func (t *manualTimer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&c.timers, t.index)
	return true
}

// timerHeap orders timers by due time, then by creation.
type timerHeap []*manualTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].when.Equal(h[j].when) {
		return h[i].when.Before(h[j].when)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*manualTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}
