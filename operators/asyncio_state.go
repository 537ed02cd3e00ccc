package operators

import (
	"encoding/binary"
	"fmt"

	"github.com/troupe-dev/troupe/persistence"
)

// asyncPendingList names the operator-state list of an async operator's
// pending input: every record not yet emitted (in flight, completed but
// held back, or waiting for a slot) and the watermarks between them, in
// input order. On restore they are taken in again and every record is
// invoked again, as Flink does; results already in hand are not kept.
const asyncPendingList = "async-pending"

// Entry layout: one kind byte ('r' record, 'w' watermark), the timestamp
// or watermark as 8 bytes big-endian, then for a record its encoding.
const (
	asyncEntryRecord    = 'r'
	asyncEntryWatermark = 'w'
)

// SnapshotState implements Snapshotter. The checkpoint barrier passes the
// operator at once: the pending records are in the snapshot and will be
// invoked again on restore, so the barrier need not wait for them.
func (o *asyncOp[In, Out]) SnapshotState(int64) (*OperatorState, error) {
	var entries [][]byte
	for _, e := range o.q.Pending() {
		if e.IsMarker() {
			entries = append(entries, asyncWatermarkEntry(e.Marker.(int64)))
			continue
		}
		b, err := o.recordEntry(e.In.in, e.In.ts)
		if err != nil {
			return nil, err
		}
		entries = append(entries, b)
	}
	for i := range o.overflow.len() {
		in := o.overflow.items[o.overflow.head+i]
		if in.isWM {
			entries = append(entries, asyncWatermarkEntry(in.wm))
			continue
		}
		b, err := o.recordEntry(in.in, in.ts)
		if err != nil {
			return nil, err
		}
		entries = append(entries, b)
	}
	return &OperatorState{Operator: &persistence.OperatorSnapshot{
		Lists: map[string][][]byte{asyncPendingList: entries}}}, nil
}

func (o *asyncOp[In, Out]) recordEntry(v In, ts int64) ([]byte, error) {
	b := binary.BigEndian.AppendUint64([]byte{asyncEntryRecord}, uint64(ts))
	b, err := o.codec.Append(b, v)
	if err != nil {
		return nil, fmt.Errorf("async: encode pending record: %w", err)
	}
	return b, nil
}

func asyncWatermarkEntry(wm int64) []byte {
	return binary.BigEndian.AppendUint64([]byte{asyncEntryWatermark}, uint64(wm))
}

// RestoreState implements Restorer: it takes the pending input back, in
// order, as if it arrived again; what exceeds the capacity (which may
// have changed) waits for a slot, as input does.
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
	return nil
}

func (o *asyncOp[In, Out]) restoreEntry(b []byte) error {
	if len(b) < 9 || (b[0] != asyncEntryRecord && b[0] != asyncEntryWatermark) {
		return fmt.Errorf("async: malformed pending entry of %d bytes", len(b))
	}
	t := int64(binary.BigEndian.Uint64(b[1:9]))
	if b[0] == asyncEntryWatermark {
		if o.q.Full() || o.overflow.len() > 0 {
			o.overflow.push(asyncInput[In]{wm: t, isWM: true})
		} else if err := o.q.PutMarker(t); err != nil {
			return fmt.Errorf("async: %w", err)
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
