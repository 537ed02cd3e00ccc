package operators

import (
	"encoding/binary"
	"fmt"

	"github.com/troupe-dev/troupe/persistence"
)

// asyncPendingList names the operator-state list of an async operator's
// pending input: every record not yet emitted (in flight, completed but
// not yet emitted, or waiting for a slot) and the watermarks between them, in
// input order. On restore they are taken in again and every record is
// invoked again, as Flink does; results already in hand are not kept.
//
// The list stays with its subtask when the parallelism is unchanged, so
// its records and watermarks come out in their order on their channel.
// On a rescale a subtask gets entries of several old subtasks, dealt
// round robin: it takes all their records but drops every watermark. A
// watermark one subtask held says nothing of the records another held:
// emitted before them, it would make them late downstream. So a restored
// subtask emits only watermarks it held itself, at this parallelism, or
// gets from its input after the restore. (Flink's AsyncWaitOperator takes
// restored watermarks back after a rescale too; here they are dropped.)
const asyncPendingList = "async-pending"

// Entry layout: one kind byte ('r' record, 'w' watermark), the timestamp
// or watermark as 8 bytes big-endian, then for a record its encoding, for
// a watermark the index and parallelism of the subtask that held it, as
// uvarints. (A watermark entry without them, as written before, has no
// known holder and is dropped on restore.)
const (
	asyncEntryRecord    = 'r'
	asyncEntryWatermark = 'w'
)

// SnapshotState implements Snapshotter. It reads the core's ledger, not
// the sequencer: every record handed to the sequencer and not yet emitted
// by the core (in flight, completed but held back, or released by the
// sequencer in a release the core has not handled yet) and the watermarks
// between them, then the input held back for a slot, in input order. A
// release that comes after the barrier is emitted after it, in the next
// epoch, while the snapshot has its records as pending: on restore they
// are invoked again, and what was emitted after the barrier is not part
// of this checkpoint. So each record is emitted once per checkpoint, and
// the barrier passes at once, waiting for neither calls nor sequencer.
func (o *asyncOp[In, Out]) SnapshotState(int64) (*OperatorState, error) {
	var entries [][]byte
	for rec := o.ledger.head; rec != nil; rec = rec.next {
		b, err := o.pendingEntry(rec.marker, rec.in, rec.ts)
		if err != nil {
			return nil, err
		}
		entries = append(entries, b)
	}
	for i := range o.overflow.Len() {
		in := o.overflow.At(i)
		t := in.ts
		if in.isWM {
			t = in.wm
		}
		b, err := o.pendingEntry(in.isWM, in.in, t)
		if err != nil {
			return nil, err
		}
		entries = append(entries, b)
	}
	return &OperatorState{Operator: &persistence.OperatorSnapshot{
		Lists: map[string][][]byte{asyncPendingList: entries}}}, nil
}

// pendingEntry encodes a watermark (t is its time) or a record (t is its
// timestamp).
func (o *asyncOp[In, Out]) pendingEntry(wm bool, v In, t int64) ([]byte, error) {
	if wm {
		return o.watermarkEntry(t), nil
	}
	return o.recordEntry(v, t)
}

func (o *asyncOp[In, Out]) recordEntry(v In, ts int64) ([]byte, error) {
	b := binary.BigEndian.AppendUint64([]byte{asyncEntryRecord}, uint64(ts))
	b, err := o.codec.Append(b, v)
	if err != nil {
		return nil, fmt.Errorf("async: encode pending record: %w", err)
	}
	return b, nil
}

// watermarkEntry encodes watermark wm as held by this subtask.
func (o *asyncOp[In, Out]) watermarkEntry(wm int64) []byte {
	b := binary.BigEndian.AppendUint64([]byte{asyncEntryWatermark}, uint64(wm))
	b = binary.AppendUvarint(b, uint64(o.tc.Subtask))
	return binary.AppendUvarint(b, uint64(o.tc.Parallelism))
}

// heldHere reports whether a restored watermark entry's holder, the bytes
// after its time, is this subtask at this parallelism.
func (o *asyncOp[In, Out]) heldHere(holder []byte) (bool, error) {
	if len(holder) == 0 {
		return false, nil // written without its holder: not known to be ours
	}
	sub, n := binary.Uvarint(holder)
	var par uint64
	m := 0
	if n > 0 {
		par, m = binary.Uvarint(holder[n:])
	}
	if n <= 0 || m <= 0 || n+m != len(holder) {
		return false, fmt.Errorf("async: malformed holder of a pending watermark (%d bytes)", len(holder))
	}
	return sub == uint64(o.tc.Subtask) && par == uint64(o.tc.Parallelism), nil
}

// RestoreState implements Restorer: it takes the pending input back, in
// order, as if it arrived again, but of the watermarks only those this
// subtask held (see asyncPendingList); what exceeds the capacity (which
// may have changed) waits for a slot, as input does.
//
// The results of the restored records wait in ready until the runtime
// resumes the chain (Chain.Pending, resumeOutput), which it does once
// the job has started: a chain opens while the subtasks downstream may
// not be deployed yet, and the runtime sends its restored output channel
// state (unaligned checkpoints) only as the job starts; a result must
// overtake neither.
func (o *asyncOp[In, Out]) RestoreState(parts []*OperatorState) error {
	for _, p := range parts {
		if p == nil || p.Operator == nil {
			continue
		}
		for _, b := range p.Operator.Lists[asyncPendingList] {
			if err := o.restoreEntry(b); err != nil {
				return err
			}
		}
	}
	o.restoring = true // after restoreEntry, which takes the records in as input
	o.pump(false)
	return nil
}

func (o *asyncOp[In, Out]) restoreEntry(b []byte) error {
	if len(b) < 9 || (b[0] != asyncEntryRecord && b[0] != asyncEntryWatermark) {
		return fmt.Errorf("async: malformed pending entry of %d bytes", len(b))
	}
	t := int64(binary.BigEndian.Uint64(b[1:9]))
	if b[0] == asyncEntryWatermark {
		mine, err := o.heldHere(b[9:])
		if err != nil || !mine {
			return err // another subtask's watermark: see asyncPendingList
		}
		if o.full() || o.overflow.Len() > 0 {
			o.overflow.Push(asyncInput[In]{wm: t, isWM: true})
		} else {
			o.putMarker(t)
		}
		return nil
	}
	v, err := o.codec.Decode(b[9:])
	if err != nil {
		return fmt.Errorf("async: decode pending record: %w", err)
	}
	o.Collect(v, t)
	return nil
}

var _ interface {
	Snapshotter
	Restorer
} = (*asyncOp[int, int])(nil)

// ledger lists, in input order, the entries (records and watermarks) an
// async operator's core has handed to the sequencer and not yet emitted.
// It is a list linked through the entries themselves, so adding and
// removing (in any order, as unordered mode releases) cost O(1).
type ledger[In any] struct {
	head, tail *asyncRec[In]
	n          int // entries
	records    int // of which records
}

func (l *ledger[In]) len() int { return l.n }

func (l *ledger[In]) push(rec *asyncRec[In]) {
	rec.prev, rec.next = l.tail, nil
	if l.tail == nil {
		l.head = rec
	} else {
		l.tail.next = rec
	}
	l.tail = rec
	l.n++
	if !rec.marker {
		l.records++
	}
}

func (l *ledger[In]) remove(rec *asyncRec[In]) {
	if rec.prev == nil {
		l.head = rec.next
	} else {
		rec.prev.next = rec.next
	}
	if rec.next == nil {
		l.tail = rec.prev
	} else {
		rec.next.prev = rec.prev
	}
	rec.prev, rec.next = nil, nil
	l.n--
	if !rec.marker {
		l.records--
	}
}
