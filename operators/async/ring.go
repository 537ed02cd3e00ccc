package async

// ring is a growable FIFO on a circular buffer whose size is a power of
// two. The queue keeps its segments and each segment's ready list in rings
// so that a steady flow of puts and pops allocates nothing once the
// buffers have grown to the working size.
type ring[T any] struct {
	buf  []T
	head int // index in buf of the front element
	n    int // number of elements
}

func (r *ring[T]) len() int { return r.n }

func (r *ring[T]) push(v T) {
	if r.n == len(r.buf) {
		r.grow()
	}
	r.buf[(r.head+r.n)&(len(r.buf)-1)] = v
	r.n++
}

func (r *ring[T]) pop() (T, bool) {
	var zero T
	if r.n == 0 {
		return zero, false
	}
	v := r.buf[r.head]
	r.buf[r.head] = zero // drop references for the garbage collector
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
	return v, true
}

// at returns the i-th element from the front. The pointer is valid until
// the next push, which may move the buffer.
func (r *ring[T]) at(i int) *T { return &r.buf[(r.head+i)&(len(r.buf)-1)] }

func (r *ring[T]) grow() {
	buf := make([]T, max(4, 2*len(r.buf)))
	for i := range r.n {
		buf[i] = *r.at(i)
	}
	r.buf, r.head = buf, 0
}

// reset empties the ring and keeps its buffer for reuse.
func (r *ring[T]) reset() {
	clear(r.buf)
	r.head, r.n = 0, 0
}
