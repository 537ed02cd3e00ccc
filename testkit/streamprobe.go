package testkit

import (
	"sync"
	"time"
)

// signalQueue is an unbounded FIFO shared by a subtask's goroutine (which
// never blocks on it) and the test's goroutine (which waits on it).
type signalQueue[T any] struct {
	mu     sync.Mutex
	items  []T
	signal chan struct{} // capacity 1: "something was pushed"
}

func newSignalQueue[T any]() *signalQueue[T] {
	return &signalQueue[T]{signal: make(chan struct{}, 1)}
}

func (q *signalQueue[T]) push(v T) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// take removes up to max items without waiting.
func (q *signalQueue[T]) take(max int) []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(max, len(q.items))
	out := append([]T(nil), q.items[:n]...)
	q.items = q.items[n:]
	return out
}

func (q *signalQueue[T]) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// pop waits until deadline for the next item.
func (q *signalQueue[T]) pop(deadline time.Time) (T, bool) {
	for {
		if it := q.take(1); len(it) == 1 {
			return it[0], true
		}
		timer := time.NewTimer(time.Until(deadline))
		select {
		case <-q.signal:
			timer.Stop()
		case <-timer.C:
			it := q.take(1)
			if len(it) == 1 {
				return it[0], true
			}
			var zero T
			return zero, false
		}
	}
}
