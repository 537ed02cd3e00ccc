package operators

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/troupe-dev/troupe/persistence"
)

// subtaskStateMagic and subtaskStateVersion start an encoded SubtaskState;
// the operator states inside carry their own checksummed envelopes.
const (
	subtaskStateMagic   = "TRST"
	subtaskStateVersion = 1
)

// MarshalBinary encodes the state of a subtask: magic, version, then per
// operator in name order its name and its keyed and operator snapshots
// (each length-prefixed, empty when absent). A streamed keyed snapshot
// (OperatorState.KeyedStream) is read and encoded here, whole, and stays
// open: the caller still closes the state.
func (s SubtaskState) MarshalBinary() ([]byte, error) {
	e, err := s.encode()
	if err != nil {
		return nil, err
	}
	if len(e.parts) == 1 {
		return e.parts[0].b, nil // nothing streamed: encoded already
	}
	return e.Bytes(context.Background())
}

func appendChunk(dst, b []byte) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(b))), b...)
}

// UnmarshalSubtaskState decodes what SubtaskState.MarshalBinary wrote. A
// damaged or foreign input gives an error wrapping ErrRestore that says
// what is wrong and where.
func UnmarshalSubtaskState(b []byte) (SubtaskState, error) { return DecodeSubtaskState(b, nil) }

// DecodeSubtaskState decodes what SubtaskState.MarshalBinary wrote as
// UnmarshalSubtaskState does, keeping of each operator only what take
// asks for: its keyed state, its operator snapshot; what it leaves is
// skipped undecoded, and an operator it takes nothing of is left out. A
// nil take keeps everything. A restore reads another subtask's file for
// one part only (its union lists, say), not to decode its keyed state.
func DecodeSubtaskState(b []byte, take func(operator string) (keyed, op bool)) (SubtaskState, error) {
	if len(b) < len(subtaskStateMagic)+1 || string(b[:len(subtaskStateMagic)]) != subtaskStateMagic {
		return nil, fmt.Errorf("%w: not a subtask state (bad magic)", ErrRestore)
	}
	if v := b[len(subtaskStateMagic)]; v != subtaskStateVersion {
		return nil, fmt.Errorf("%w: subtask state version %d, this build reads %d", ErrRestore, v, subtaskStateVersion)
	}
	r := chunkReader{b: b, off: len(subtaskStateMagic) + 1}
	n := r.uvarint("operator count")
	st := SubtaskState{}
	for i := uint64(0); i < n && r.err == nil; i++ {
		name := string(r.chunk("operator name"))
		keyed, op := r.chunk("keyed state of "+name), r.chunk("operator state of "+name)
		if r.err != nil {
			break
		}
		if take != nil {
			takeKeyed, takeOp := take(name)
			if !takeKeyed && !takeOp {
				continue
			}
			if !takeKeyed {
				keyed = nil
			}
			if !takeOp {
				op = nil
			}
		}
		os, err := decodeOperatorState(keyed, op)
		if err != nil {
			return nil, fmt.Errorf("%w: operator %q: %w", ErrRestore, name, err)
		}
		st[name] = os
	}
	if r.err == nil && r.off != len(b) {
		r.err = fmt.Errorf("%d trailing bytes at offset %d", len(b)-r.off, r.off)
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: subtask state: %w", ErrRestore, r.err)
	}
	return st, nil
}

func decodeOperatorState(keyed, op []byte) (*OperatorState, error) {
	os := &OperatorState{}
	var err error
	if len(keyed) > 0 {
		if os.Keyed, err = persistence.UnmarshalKeyedSnapshot(keyed); err != nil {
			return nil, err
		}
	}
	if len(op) > 0 {
		if os.Operator, err = persistence.UnmarshalOperatorSnapshot(op); err != nil {
			return nil, err
		}
	}
	return os, nil
}

// chunkReader reads uvarints and length-prefixed chunks, keeping the first
// error with the offset where it happened.
type chunkReader struct {
	b   []byte
	off int
	err error
}

func (r *chunkReader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.err = fmt.Errorf("bad %s at offset %d", what, r.off)
		return 0
	}
	r.off += n
	return v
}

func (r *chunkReader) chunk(what string) []byte {
	n := r.uvarint("length of " + what)
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)-r.off) {
		r.err = fmt.Errorf("%s at offset %d: length %d past the end", what, r.off, n)
		return nil
	}
	c := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return c
}
