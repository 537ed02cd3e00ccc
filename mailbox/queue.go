package mailbox

// Queue is the slice-backed first-in, first-out queue of the runtime's hot
// paths: the gates' per-channel queues, and operators that hold input
// back (async I/O). It reuses its storage, so a queue that fills and
// drains over and over allocates only while it grows. The zero value is
// empty and ready. A Queue is not safe for concurrent use.
type Queue[T any] struct {
	items []T
	head  int
}

// Len returns how many elements are queued.
func (q *Queue[T]) Len() int { return len(q.items) - q.head }

// Push appends v. When the slice is full and its front is consumed, the
// live elements move to the front first, so memory stays bounded by the
// largest length the queue had.
func (q *Queue[T]) Push(v T) {
	if q.head > 0 && len(q.items) == cap(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	q.items = append(q.items, v)
}

// Pop removes and returns the first element; the queue must not be empty.
func (q *Queue[T]) Pop() T {
	var zero T
	v := q.items[q.head]
	q.items[q.head] = zero // no reference kept to what left
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	return v
}

// Peek returns the first element without removing it; the queue must not
// be empty.
func (q *Queue[T]) Peek() T { return q.items[q.head] }

// At returns the i-th element from the front (0 is the first).
func (q *Queue[T]) At(i int) T { return q.items[q.head+i] }

// RemoveAt removes and returns the i-th element from the front; the
// elements behind it move up one place.
func (q *Queue[T]) RemoveAt(i int) T {
	var zero T
	j := q.head + i
	v := q.items[j]
	copy(q.items[j:], q.items[j+1:])
	q.items[len(q.items)-1] = zero
	q.items = q.items[:len(q.items)-1]
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	return v
}
