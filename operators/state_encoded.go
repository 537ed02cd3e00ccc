package operators

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/troupe-dev/troupe/persistence"
)

// EncodedState is a subtask's state on its way to the checkpoint store,
// a persistence.StateSource: what the operators copied at the barrier
// is encoded already, and the streamed keyed snapshots (bbolt) are read
// and encoded as the store writes, off the subtask's goroutine. It
// writes the bytes of SubtaskState.MarshalBinary.
//
// It is used by one goroutine at a time, and must be closed, whatever
// happened: Close ends the streamed snapshots' read transactions.
type EncodedState struct {
	parts []statePart
	size  int64 // once measured; -1 before
}

// statePart is bytes already encoded, or a streamed keyed snapshot,
// written as a chunk: its length as a uvarint, then its encoding.
type statePart struct {
	b      []byte
	stream *persistence.BoltSnapshot
	n      int64 // the stream's length, once measured
}

var _ persistence.StateSource = (*EncodedState)(nil)

// Encode encodes the state for the checkpoint store: the copied parts
// now, the streamed ones when the result is written. On success the
// EncodedState takes the state's streams over: close it, not s. On
// failure s still holds them.
func (s SubtaskState) Encode() (*EncodedState, error) { return s.encode() }

func (s SubtaskState) encode() (*EncodedState, error) {
	e := &EncodedState{size: -1}
	out := append([]byte(subtaskStateMagic), subtaskStateVersion)
	out = binary.AppendUvarint(out, uint64(len(s)))
	for _, name := range slices.Sorted(maps.Keys(s)) {
		st := s[name]
		if st == nil {
			st = &OperatorState{}
		}
		var keyed, op []byte
		var err error
		if st.Keyed != nil && st.KeyedStream == nil {
			keyed, err = st.Keyed.MarshalBinary()
		}
		if st.Operator != nil && err == nil {
			op, err = st.Operator.MarshalBinary()
		}
		if err != nil {
			return nil, fmt.Errorf("operator %q: %w", name, err)
		}
		out = appendChunk(out, []byte(name))
		if st.KeyedStream != nil {
			e.parts = append(e.parts, statePart{b: out}, statePart{stream: st.KeyedStream})
			out = nil
		} else {
			out = appendChunk(out, keyed)
		}
		out = appendChunk(out, op)
	}
	e.parts = append(e.parts, statePart{b: out})
	return e, nil
}

// Size returns the length of the encoding; the first call measures the
// streamed snapshots, which scans them.
func (e *EncodedState) Size(ctx context.Context) (int64, error) {
	if e.size >= 0 {
		return e.size, nil
	}
	var size int64
	for i := range e.parts {
		p := &e.parts[i]
		if p.stream == nil {
			size += int64(len(p.b))
			continue
		}
		n, err := p.stream.Size(ctx)
		if err != nil {
			return 0, err
		}
		p.n = n
		size += int64(len(binary.AppendUvarint(nil, uint64(n)))) + n
	}
	e.size = size
	return size, nil
}

// Encode writes the encoding to w, Size bytes, reading the streamed
// snapshots as it goes. It stops with ctx's cause if ctx ends first.
func (e *EncodedState) Encode(ctx context.Context, w io.Writer) error {
	if _, err := e.Size(ctx); err != nil {
		return err
	}
	for _, p := range e.parts {
		if p.stream == nil {
			if _, err := w.Write(p.b); err != nil {
				return err
			}
			continue
		}
		if _, err := w.Write(binary.AppendUvarint(nil, uint64(p.n))); err != nil {
			return err
		}
		if err := p.stream.Encode(ctx, w); err != nil {
			return err
		}
	}
	return nil
}

// Bytes returns the encoding, whole.
func (e *EncodedState) Bytes(ctx context.Context) ([]byte, error) {
	size, err := e.Size(ctx)
	if err != nil {
		return nil, err
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	if err := e.Encode(ctx, buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Close ends the streamed snapshots. It is safe to call more than once.
func (e *EncodedState) Close() error {
	var errs []error
	for _, p := range e.parts {
		if p.stream != nil {
			errs = append(errs, p.stream.Close())
		}
	}
	return errors.Join(errs...)
}

// Close ends the streamed keyed snapshots of s (see OperatorState). It is
// safe to call more than once.
func (s SubtaskState) Close() error {
	var errs []error
	for _, st := range s {
		if st != nil && st.KeyedStream != nil {
			errs = append(errs, st.KeyedStream.Close())
		}
	}
	return errors.Join(errs...)
}

// Summary says what each operator's state holds, for the checkpoint's
// metadata (persistence.TaskState.States): a restore plans from it which
// state files each new subtask reads.
func (s SubtaskState) Summary() map[string]persistence.StateSummary {
	out := make(map[string]persistence.StateSummary, len(s))
	for name, st := range s {
		var sum persistence.StateSummary
		if st != nil {
			sum.Keyed = st.Keyed != nil || st.KeyedStream != nil
			if op := st.Operator; op != nil {
				sum.Operator = true
				sum.Lists = slices.Sorted(maps.Keys(op.Lists))
				sum.Union = slices.Sorted(maps.Keys(op.Union))
			}
		}
		out[name] = sum
	}
	return out
}
