package operators

import (
	"math/bits"
	"reflect"
)

// Shipper is implemented by the runtime: it takes a full (or flushed) batch
// for one output channel of a subtask. Ownership of batch moves to the
// runtime, which delivers it to the receiving subtask.
//
// ShipEvent takes a control event for one output channel; the router calls
// it only after shipping that channel's partly filled batch, so that the
// event keeps its place among the records.
type Shipper interface {
	Ship(channel int, batch any)
	ShipEvent(channel int, ev Event)
}

// streamType holds the operations that depend on a stream's element type,
// so that the graph and the runtime can stay untyped while the hot path is
// not.
type streamType interface {
	newRouter(edges []route, ship Shipper, subtask, batchSize, batchBytes int) flushCollector
	consumer(c any, b *brake) batchConsumer
	batchLen(batch any) int
	codec() batchCodec
	// lossless reports, as an error wrapping ErrLossyJSON, that the
	// stream's codec is the default JSON one and JSON would not
	// round-trip its records; nil if the codec keeps them whole.
	lossless() error
	// release returns a batch of this type to its pool.
	release(batch any)
	// tap wraps a Collector of this type so that before is called ahead
	// of every record.
	tap(c any, before func()) any
}

// flushCollector is a typed Collector (erased) that can flush buffered
// batches.
type flushCollector interface {
	Flush()
	// Emit ships ev on every output channel, after the records before it.
	Emit(ev Event)
	// Buffered reports whether a batch may be partly filled.
	Buffered() bool
	// batchRecords returns how many records a full batch holds (the
	// fewest, over several routers).
	batchRecords() int
}

// route is one outgoing edge of a subtask: the channels [base, base+width)
// are the subtasks of the consumer.
type route struct {
	part   Partitioning
	base   int
	width  int
	maxPar int
	hash   any
}

type streamOps[T any] struct {
	pool   *batchPool[T]
	codec_ Codec[T]
}

func newStreamOps[T any]() *streamOps[T] {
	return &streamOps[T]{pool: newBatchPool[T](0), codec_: JSONCodec[T]{}}
}

func (st *streamOps[T]) newRouter(edges []route, ship Shipper, subtask, batchSize, batchBytes int) flushCollector {
	b := batcher[T]{ship: ship, pool: st.pool, batchSize: recordsPerBatch[T](batchSize, batchBytes)}
	width := 0
	var typed []typedRoute[T]
	for _, e := range edges {
		re := typedRoute[T]{route: e, next: subtask % max(e.width, 1)}
		if e.hash != nil {
			re.hash = e.hash.(func(T) uint64)
		}
		typed = append(typed, re)
		width = max(width, e.base+e.width)
		for c := range e.width {
			b.chans = append(b.chans, e.base+c)
		}
	}
	b.bufs = make([]*Batch[T], width)
	if len(typed) == 1 {
		if r := singleRouter(b, typed[0]); r != nil {
			return r
		}
	}
	return &router[T]{batcher: b, edges: typed}
}

// singleRouter returns a router for a subtask with one output edge of
// one channel or partitioned by key, nil for other edges: the common
// cases, with no loop over edges, and for a hash edge over a power-of-two
// max parallelism no division.
func singleRouter[T any](b batcher[T], e typedRoute[T]) flushCollector {
	switch {
	case e.part == Forward || (e.width == 1 && e.part != Broadcast):
		// One channel: every record goes there; its key group does not
		// matter (the receiver computes it where it needs it).
		return &forwardRouter[T]{batcher: b, ch: e.base}
	case e.part == Hash:
		r := &hashRouter[T]{batcher: b, hash: e.hash, base: e.base, width: uint64(e.width), maxPar: uint64(e.maxPar)}
		if e.maxPar&(e.maxPar-1) == 0 {
			r.mask, r.shift = uint64(e.maxPar-1), uint(bits.TrailingZeros64(uint64(e.maxPar)))
		}
		return r
	}
	return nil
}

// batchConsumer feeds the records of batch from index from on into the
// chain. It stops before a record when the chain's brake says so (the
// output is full, read before each record; urgent mail, asked every
// yieldEvery records) and returns where it stopped, done false; once
// every record has gone in, the batch goes back to its pool and done is
// true.
type batchConsumer func(batch any, from int) (next int, done bool)

// consumer returns the batchConsumer of collector c, which stops as b
// says.
func (st *streamOps[T]) consumer(c any, b *brake) batchConsumer {
	col := c.(Collector[T])
	if runs := runsOf(col); runs != nil {
		return st.runConsumer(runs, b)
	}
	return func(batch any, from int) (int, bool) {
		bt := batch.(*Batch[T])
		elems := bt.Elems
		n := len(elems)
		for i := from; i < n; {
			for end := min(i+yieldEvery, n); i < end; i++ {
				if b.full {
					return i, false
				}
				col.Collect(elems[i].Value, elems[i].Timestamp)
			}
			if i < n && b.urgentNow() {
				return i, false
			}
		}
		st.pool.put(bt)
		return n, true
	}
}

// runConsumer is consumer for a chain whose head takes runs of records
// (see batch_path.go): it feeds the batch in runs, reading the brake
// before each run, and asking for urgent mail after each.
func (st *streamOps[T]) runConsumer(col batchCollector[T], b *brake) batchConsumer {
	return func(batch any, from int) (int, bool) {
		bt := batch.(*Batch[T])
		elems := bt.Elems
		n, run := len(elems), b.runLen()
		for i := from; i < n; {
			if b.full {
				return i, false
			}
			end := min(i+run, n)
			col.collectBatch(elems[i:end])
			if i = end; i < n && b.urgentNow() {
				return i, false
			}
		}
		st.pool.put(bt)
		return n, true
	}
}

func (st *streamOps[T]) tap(c any, before func()) any {
	next := c.(Collector[T])
	return &tapped[T]{next: next, nextB: runsOf(next), before: before}
}

// tapped calls before ahead of every record it passes to next. It takes
// runs where next does (see batch_path.go), calling before for each
// record of a run before it passes the run on: a test's faults then fire
// on the same path as production runs, record by record or in runs.
type tapped[T any] struct {
	next   Collector[T]
	nextB  batchCollector[T]
	before func()
}

func (t *tapped[T]) Collect(v T, ts int64) {
	t.before()
	t.next.Collect(v, ts)
}

func (t *tapped[T]) takesRuns() bool { return t.nextB != nil }

func (t *tapped[T]) collectBatch(es []Element[T]) {
	for range es {
		t.before()
	}
	t.nextB.collectBatch(es)
}

// batchLen returns the number of records in batch, or -1 if batch is not
// of this type (the runtime counts the batches of several routers).
func (st *streamOps[T]) batchLen(batch any) int {
	if b, ok := batch.(*Batch[T]); ok {
		return len(b.Elems)
	}
	return -1
}

func (st *streamOps[T]) codec() batchCodec { return typedBatchCodec[T]{st} }

func (st *streamOps[T]) lossless() error {
	if !isJSON(st.codec_) {
		return nil
	}
	return checkLossless[T]("give the stream a codec (WithCodec)")
}

func (st *streamOps[T]) release(batch any) { st.pool.put(batch.(*Batch[T])) }

// recordsPerBatch returns how many records of type T a batch holds: at
// most records, and at most bytes (0: no cap) of the batch's elements,
// Element[T] each — what the batch itself holds, not what its records
// point to (the contents of strings, slices and maps) — and at least one.
// It is computed once per router, never per record.
func recordsPerBatch[T any](records, bytes int) int {
	if bytes <= 0 {
		return records
	}
	size := int(reflect.TypeFor[Element[T]]().Size())
	return max(1, min(records, bytes/max(size, 1)))
}

type typedRoute[T any] struct {
	route
	hash func(T) uint64
	next int
}

// batcher batches a subtask's output records per channel and ships full
// batches; the routers choose the channels. A subtask has one router for
// its main output and one per side output; each owns some of the
// channels.
type batcher[T any] struct {
	bufs      []*Batch[T] // by channel; nil for channels of other routers
	chans     []int       // the channels this router owns
	ship      Shipper
	pool      *batchPool[T]
	batchSize int
	dirty     bool
}

// router partitions a subtask's output records over its output edges'
// channels, whatever their number and partitioning.
type router[T any] struct {
	batcher[T]
	edges []typedRoute[T]
}

func (r *router[T]) Collect(v T, ts int64) {
	for i := range r.edges {
		e := &r.edges[i]
		switch e.part {
		case Forward:
			r.add(e.base, v, ts)
		case Hash:
			kg := e.hash(v) % uint64(e.maxPar)
			r.add(e.base+int(kg*uint64(e.width)/uint64(e.maxPar)), v, ts)
		case Rebalance:
			r.add(e.base+e.next, v, ts)
			if e.next++; e.next == e.width {
				e.next = 0
			}
		case Broadcast:
			for c := range e.width {
				r.add(e.base+c, v, ts)
			}
		}
	}
}

// forwardRouter sends every record to one channel.
type forwardRouter[T any] struct {
	batcher[T]
	ch int
}

func (r *forwardRouter[T]) Collect(v T, ts int64) { r.add(r.ch, v, ts) }

func (r *forwardRouter[T]) takesRuns() bool { return true }

func (r *forwardRouter[T]) collectBatch(es []Element[T]) { r.addRun(r.ch, es) }

// hashRouter partitions records by key group over one edge's channels:
// channel base + kg·width/maxPar for key group kg = hash mod maxPar (see
// SubtaskOf), by mask and shift when maxPar is a power of two (mask is
// then maxPar-1; 0 otherwise).
type hashRouter[T any] struct {
	batcher[T]
	hash                func(T) uint64
	base                int
	width, maxPar, mask uint64
	shift               uint
}

func (r *hashRouter[T]) takesRuns() bool { return true }

func (r *hashRouter[T]) collectBatch(es []Element[T]) {
	for i := range es {
		r.Collect(es[i].Value, es[i].Timestamp)
	}
}

func (r *hashRouter[T]) Collect(v T, ts int64) {
	h := r.hash(v)
	if r.mask != 0 {
		r.add(r.base+int(((h&r.mask)*r.width)>>r.shift), v, ts)
		return
	}
	kg := h % r.maxPar
	r.add(r.base+int(kg*r.width/r.maxPar), v, ts)
}

func (r *batcher[T]) add(ch int, v T, ts int64) {
	b := r.bufs[ch]
	if b == nil {
		b = r.start(ch)
	}
	b.Elems = append(b.Elems, Element[T]{Value: v, Timestamp: ts})
	if len(b.Elems) >= r.batchSize {
		r.bufs[ch] = nil
		r.ship.Ship(ch, b)
	}
}

// addRun adds a run of records to channel ch's batch, shipping each batch
// it fills.
func (r *batcher[T]) addRun(ch int, es []Element[T]) {
	for len(es) > 0 {
		b := r.bufs[ch]
		if b == nil {
			b = r.start(ch)
		}
		n := min(len(es), r.batchSize-len(b.Elems))
		b.Elems = append(b.Elems, es[:n]...)
		es = es[n:]
		if len(b.Elems) >= r.batchSize {
			r.bufs[ch] = nil
			r.ship.Ship(ch, b)
		}
	}
}

// start takes a batch for channel ch from the pool.
func (r *batcher[T]) start(ch int) *Batch[T] {
	b := r.pool.get()
	if cap(b.Elems) < r.batchSize { // new (the pool empties at every GC): no growing by appends
		b.Elems = make([]Element[T], 0, r.batchSize)
	}
	r.bufs[ch] = b
	r.dirty = true
	return b
}

func (r *batcher[T]) batchRecords() int { return r.batchSize }

// Flush ships every partly filled batch.
func (r *batcher[T]) Flush() {
	r.dirty = false
	for ch, b := range r.bufs {
		if b != nil && len(b.Elems) > 0 {
			r.bufs[ch] = nil
			r.ship.Ship(ch, b)
		}
	}
}

// Emit flushes every channel of the router and then ships ev on each of
// them: events are broadcast, whatever the partitioning of the records.
func (r *batcher[T]) Emit(ev Event) {
	r.Flush()
	for _, ch := range r.chans {
		r.ship.ShipEvent(ch, ev)
	}
}

// Buffered reports whether a batch was started since the last flush.
func (r *batcher[T]) Buffered() bool { return r.dirty }
