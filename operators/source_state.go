package operators

import (
	"encoding/json"
	"fmt"

	"github.com/troupe-dev/troupe/persistence"
)

// seqPosition is the read position of a slice or generator subtask: the
// next index it emits. Those sources deal indexes round robin over their
// subtasks, so a position is only valid at the same parallelism.
type seqPosition struct {
	Subtask     int   `json:"subtask"`
	Parallelism int   `json:"parallelism"`
	Next        int64 `json:"next"`
}

func snapshotSeq(tc *TaskContext, next int64) (*OperatorState, error) {
	b, err := json.Marshal(seqPosition{Subtask: tc.Subtask, Parallelism: tc.Parallelism, Next: next})
	if err != nil {
		return nil, err
	}
	return &OperatorState{Operator: &persistence.OperatorSnapshot{Lists: map[string][][]byte{"position": {b}}}}, nil
}

// restoreSeq returns the restored next index of this subtask.
func restoreSeq(tc *TaskContext, parts []*OperatorState) (int64, error) {
	var pos []seqPosition
	for _, p := range parts {
		if p == nil || p.Operator == nil {
			continue
		}
		for _, b := range p.Operator.Lists["position"] {
			var sp seqPosition
			if err := json.Unmarshal(b, &sp); err != nil {
				return 0, fmt.Errorf("%w: source position: %w", ErrRestore, err)
			}
			pos = append(pos, sp)
		}
	}
	if len(pos) != 1 || pos[0].Parallelism != tc.Parallelism || pos[0].Subtask != tc.Subtask {
		return 0, fmt.Errorf("%w: this source restores only at the parallelism it was checkpointed at (%s)", ErrRestore, describe(pos))
	}
	return pos[0].Next, nil
}

func describe(pos []seqPosition) string {
	if len(pos) == 0 {
		return "no position"
	}
	return fmt.Sprintf("checkpointed at parallelism %d", pos[0].Parallelism)
}

// SnapshotState records the slice subtask's next index.
func (r *sliceReader[T]) SnapshotState(int64) (*OperatorState, error) {
	return snapshotSeq(r.tc, int64(r.next))
}

// RestoreState rewinds the slice subtask to its checkpointed index.
func (r *sliceReader[T]) RestoreState(parts []*OperatorState) error {
	next, err := restoreSeq(r.tc, parts)
	r.next = int(next)
	return err
}

// SnapshotState records the generator subtask's next sequence number.
func (r *genReader[T]) SnapshotState(int64) (*OperatorState, error) {
	return snapshotSeq(r.tc, r.next)
}

// RestoreState rewinds the generator subtask to its checkpointed number.
func (r *genReader[T]) RestoreState(parts []*OperatorState) error {
	next, err := restoreSeq(r.tc, parts)
	r.next = next
	return err
}
