package operators

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/troupe-dev/troupe/persistence"
)

// splitsList names a file source's operator list state: one entry per
// split. A restore at the same parallelism gives each subtask back its
// own splits; one at another parallelism deals whole splits round robin,
// each resuming where it stood.
const splitsList = "splits"

// fileSplit is a byte range of the input file, whose lines (those that
// start in it) one subtask emits, and how far it has emitted them.
type fileSplit struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	// Size is the file's size when the split was made: a file that
	// changed cannot be resumed.
	Size int64 `json:"size"`
	// Aligned is false until a line of the range was emitted; then Next is
	// the offset of the next line to emit and Line its 1-based number
	// (kept for sources that number lines).
	Aligned bool  `json:"aligned"`
	Next    int64 `json:"next"`
	Line    int   `json:"line"`
}

// advance moves the split past a record that was emitted.
func (s *fileSplit) advance(p readPos) {
	s.Aligned, s.Next, s.Line = true, p.next, p.line
}

// SnapshotState records every split's position: the line after the last
// record Poll emitted, whatever the fetcher has read ahead. Finished
// splits are kept, so that a restore never takes an empty state for a
// fresh start.
func (r *fileReader[T]) SnapshotState(int64) (*OperatorState, error) {
	list := make([][]byte, 0, len(r.splits))
	for _, sp := range r.splits {
		b, err := json.Marshal(sp)
		if err != nil {
			return nil, fmt.Errorf("input file %s: encode position: %w", r.spec.path, err)
		}
		list = append(list, b)
	}
	return &OperatorState{Operator: &persistence.OperatorSnapshot{Lists: map[string][][]byte{splitsList: list}}}, nil
}

// RestoreState rewinds the source to the splits it was given, in file
// order, and restarts the fetcher there. A subtask may get several splits
// (fewer subtasks than at the checkpoint) or none (more).
func (r *fileReader[T]) RestoreState(parts []*OperatorState) error {
	splits, err := r.decodeSplits(parts)
	if err != nil {
		return err
	}
	r.stop()
	r.splits = splits
	r.start()
	return nil
}

func (r *fileReader[T]) decodeSplits(parts []*OperatorState) ([]fileSplit, error) {
	var splits []fileSplit
	for _, p := range parts {
		if p == nil || p.Operator == nil {
			continue
		}
		for _, b := range p.Operator.Lists[splitsList] {
			var sp fileSplit
			if err := json.Unmarshal(b, &sp); err != nil {
				return nil, fmt.Errorf("%w: input file %s: position: %v", ErrRestore, r.spec.path, err)
			}
			if sp.Size != r.size {
				return nil, fmt.Errorf("%w: input file %s has %d bytes, %d when checkpointed: it changed", ErrRestore, r.spec.path, r.size, sp.Size)
			}
			splits = append(splits, sp)
		}
	}
	slices.SortFunc(splits, func(a, b fileSplit) int { return cmp.Compare(a.Start, b.Start) })
	return splits, nil
}
