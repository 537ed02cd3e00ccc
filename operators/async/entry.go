package async

import "fmt"

// Mode is the order in which a Queue releases completed records.
type Mode uint8

const (
	// Ordered releases records in input order: only a completed head of
	// the queue leaves it. The zero Mode, as in Flink's orderedWait.
	Ordered Mode = iota
	// Unordered releases a completed record as soon as every marker before
	// it has left: records between two markers leave in completion order,
	// none crosses a marker (Flink's unorderedWait).
	Unordered
	// KeyOrdered keeps input order among records of the same key hash
	// only; records of different keys between two markers leave in
	// completion order. Markers are crossed by no record.
	KeyOrdered
)

func (m Mode) valid() bool { return m <= KeyOrdered }

// String returns the mode's name, for logs and errors.
func (m Mode) String() string {
	switch m {
	case Ordered:
		return "ordered"
	case Unordered:
		return "unordered"
	case KeyOrdered:
		return "key-ordered"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// Kind tells a record from a marker.
type Kind uint8

const (
	// KindRecord is an input record sent to the async function.
	KindRecord Kind = iota
	// KindMarker is an opaque element (a watermark, a barrier) that keeps
	// its place among the records.
	KindMarker
)

// Handle names one record in its Queue, from Put until Pop. It is a small
// comparable value, so the runtime can key timers and retry state by it
// and carry it in the invokers' reply messages. The zero Handle names no
// record. A Handle means nothing to another Queue, in particular to one
// restored from a snapshot: restored records get new handles.
type Handle struct {
	seq  uint64 // order of the Put, from 1; never reused by a Queue
	slot int32  // where the record lives, so lookups need no map
}

// Seq returns the record's sequence number: its rank among all entries
// put into the Queue, from 1. Useful in logs and messages.
func (h Handle) Seq() uint64 { return h.seq }

// Entry is an element leaving the Queue, returned by Pop.
type Entry[In, Out any] struct {
	Kind Kind
	// Handle, In, Ts and Key are the record as it was put; zero for a
	// marker.
	Handle Handle
	In     In
	Ts     int64
	Key    uint64
	// Results are the slice given to Complete, as it was given; Err is
	// the error given to Fail. At most one of them is set: a record with
	// neither succeeded with an empty result.
	Results []Out
	Err     error
	// Marker is the value given to PutMarker.
	Marker any
}

// IsMarker reports whether the entry is a marker rather than a record.
func (e Entry[In, Out]) IsMarker() bool { return e.Kind == KindMarker }

// PendingEntry is an element not yet popped, as Pending lists it for a
// snapshot. Results are not part of it: on restore the runtime puts the
// records again and the async function runs again for them, as in Flink.
type PendingEntry[In any] struct {
	Kind Kind
	// In, Ts and Key are the record as it was put; zero for a marker.
	In  In
	Ts  int64
	Key uint64
	// Marker is the value given to PutMarker.
	Marker any
}

// IsMarker reports whether the entry is a marker rather than a record.
func (e PendingEntry[In]) IsMarker() bool { return e.Kind == KindMarker }
