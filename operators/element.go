package operators

import (
	"math"
	"sync"
)

// NoTimestamp marks a record that carries no event timestamp.
const NoTimestamp int64 = math.MinInt64

// Element is one record on the wire: a value and its event timestamp in
// epoch milliseconds (NoTimestamp when it has none).
type Element[T any] struct {
	Value     T
	Timestamp int64
}

// Collector receives the records an operator emits. A collector belongs to
// one subtask and is never called concurrently.
type Collector[T any] interface {
	Collect(value T, timestamp int64)
}

// CollectorFunc adapts a function to a Collector.
type CollectorFunc[T any] func(value T, timestamp int64)

// Collect calls f.
func (f CollectorFunc[T]) Collect(value T, timestamp int64) { f(value, timestamp) }

// Batch is the unit that travels on a channel between two subtasks. Batches
// are pooled: the receiver returns a batch to its pool once it has consumed
// it, so a receiver must not keep a reference to Elems.
type Batch[T any] struct {
	Elems []Element[T]
}

// batchPool recycles batches of one element type. One pool serves one
// producing node, shared by its senders and receivers in this process.
type batchPool[T any] struct {
	size int
	pool sync.Pool
}

func newBatchPool[T any](size int) *batchPool[T] {
	bp := &batchPool[T]{size: size}
	bp.pool.New = func() any { return &Batch[T]{Elems: make([]Element[T], 0, bp.size)} }
	return bp
}

func (bp *batchPool[T]) get() *Batch[T] { return bp.pool.Get().(*Batch[T]) }

func (bp *batchPool[T]) put(b *Batch[T]) {
	if cap(b.Elems) < bp.size {
		return
	}
	clear(b.Elems) // drop references so pooled batches do not pin values
	b.Elems = b.Elems[:0]
	bp.pool.Put(b)
}
