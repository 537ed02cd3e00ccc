package async

import (
	"fmt"
	"math"
)

// none is the null slot index.
const none int32 = -1

// maxCapacity keeps every slot index within an int32.
const maxCapacity = math.MaxInt32

// slot holds one entry, record or marker, from its Put to its Pop.
type slot[In, Out any] struct {
	seq     uint64 // 0 while the slot is free
	seg     uint64 // number of the segment the entry belongs to
	next    int32  // next record of the same chain, in input order
	kind    Kind
	done    bool // completed or failed
	segHead bool // first unpopped record of its chain within its segment
	attempt int
	in      In
	ts      int64
	key     uint64
	marker  any
	results []Out
	err     error
}

// segment is the run of records between two markers. marker is the
// marker closing it, none for the last (open) segment. Only the first
// segment may release entries: that is how no record crosses a marker.
type segment struct {
	records int         // records put and not yet popped
	ready   ring[int32] // completed records that may leave once the segment is first
	marker  int32
}

// chain links the unpopped records that must leave in input order among
// themselves: all records in Ordered mode, those of one key in KeyOrdered
// mode. Unordered mode has no chains.
type chain struct{ head, tail int32 }

var emptyChain = chain{head: none, tail: none}

// Queue sequences the records of an async operator and the markers between
// them: records are put in input order, completed in any order, and popped
// in the order the Mode allows. It holds at most Capacity entries, records
// and markers alike.
//
// A Queue is not safe for concurrent use: it belongs to one actor (the
// sequencer), which is never run concurrently with itself.
type Queue[In, Out any] struct {
	mode     Mode
	capacity int
	slots    []slot[In, Out] // grows up to capacity; handles index it
	free     []int32
	segs     ring[segment] // segs.at(0) is segment number firstSeg
	firstSeg uint64
	spare    []ring[int32] // ready lists of dropped segments, for reuse
	one      chain         // the chain of Ordered mode
	keys     map[uint64]chain
	nextSeq  uint64
	live     int // entries put and not yet popped
}

// NewQueue returns an empty queue releasing records in the given mode and
// holding at most capacity entries (records and markers).
func NewQueue[In, Out any](mode Mode, capacity int) (*Queue[In, Out], error) {
	if !mode.valid() {
		return nil, fmt.Errorf("%w: %v", ErrMode, mode)
	}
	if capacity < 1 || capacity > maxCapacity {
		return nil, fmt.Errorf("%w: %d not in [1, %d]", ErrCapacity, capacity, maxCapacity)
	}
	q := &Queue[In, Out]{mode: mode, capacity: capacity, one: emptyChain, nextSeq: 1}
	if mode == KeyOrdered {
		q.keys = make(map[uint64]chain)
	}
	q.segs.push(segment{marker: none})
	return q, nil
}

// Put appends a record with its event timestamp and key hash (used by
// KeyOrdered mode only) and returns its handle. It returns ErrFull when the
// queue holds Capacity entries.
func (q *Queue[In, Out]) Put(in In, ts int64, key uint64) (Handle, error) {
	s, err := q.alloc()
	if err != nil {
		return Handle{}, err
	}
	e := &q.slots[s]
	e.kind, e.in, e.ts, e.key, e.attempt = KindRecord, in, ts, key, 1
	q.segs.at(q.segs.len()-1).records++
	e.segHead = q.link(s)
	return Handle{seq: e.seq, slot: s}, nil
}

// PutMarker appends a marker, which leaves the queue once every entry put
// before it has left, and before any record put after it. It takes a slot,
// as a watermark does in Flink, so that markers piling up behind a slow
// record stay bounded; it returns ErrFull when the queue is full.
func (q *Queue[In, Out]) PutMarker(m any) error {
	s, err := q.alloc()
	if err != nil {
		return err
	}
	q.slots[s].kind, q.slots[s].marker = KindMarker, m
	q.segs.at(q.segs.len() - 1).marker = s
	q.segs.push(segment{marker: none, ready: q.takeSpare()})
	return nil
}

// alloc takes a free slot for a new entry of the last segment.
func (q *Queue[In, Out]) alloc() (int32, error) {
	if q.live == q.capacity {
		return none, ErrFull
	}
	var s int32
	if n := len(q.free); n > 0 {
		s, q.free = q.free[n-1], q.free[:n-1]
	} else {
		q.slots = append(q.slots, slot[In, Out]{})
		s = int32(len(q.slots) - 1)
	}
	e := &q.slots[s]
	e.seq, e.seg, e.next = q.nextSeq, q.firstSeg+uint64(q.segs.len()-1), none
	q.nextSeq++
	q.live++
	return s, nil
}

// release frees a popped entry's slot, dropping its values so that the
// garbage collector can take them.
func (q *Queue[In, Out]) release(s int32) {
	q.slots[s] = slot[In, Out]{}
	q.free = append(q.free, s)
	q.live--
}

func (q *Queue[In, Out]) takeSpare() ring[int32] {
	n := len(q.spare)
	if n == 0 {
		return ring[int32]{}
	}
	r := q.spare[n-1]
	q.spare = q.spare[:n-1]
	return r
}

// Complete records the results of a record's async call. It returns false,
// changing nothing, when h names no record awaiting completion: unknown,
// already completed or failed, or popped. So a function that completes a
// record ten times yields one output. The queue keeps results as given;
// the caller must not modify the slice afterwards.
func (q *Queue[In, Out]) Complete(h Handle, results []Out) bool {
	return q.finish(h, results, nil)
}

// Fail records that a record's async call failed for good (retries, if
// any, are over). Like Complete it returns false for a handle that awaits
// no completion. The failure leaves the queue in its turn, as a result
// would; a runtime that fails the subtask at once need not wait for it.
func (q *Queue[In, Out]) Fail(h Handle, err error) bool {
	if err == nil {
		err = ErrNilFailure
	}
	return q.finish(h, nil, err)
}

func (q *Queue[In, Out]) finish(h Handle, results []Out, err error) bool {
	e := q.awaiting(h)
	if e == nil {
		return false
	}
	e.done, e.results, e.err = true, results, err
	if e.segHead {
		q.segs.at(int(e.seg - q.firstSeg)).ready.push(h.slot)
	}
	return true
}

// awaiting returns the slot of the record h names if it awaits completion.
func (q *Queue[In, Out]) awaiting(h Handle) *slot[In, Out] {
	if h.slot < 0 || int(h.slot) >= len(q.slots) {
		return nil
	}
	e := &q.slots[h.slot]
	if e.seq != h.seq || h.seq == 0 || e.kind != KindRecord || e.done {
		return nil
	}
	return e
}
