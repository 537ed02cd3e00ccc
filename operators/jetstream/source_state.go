package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// splitsList names the source's operator list state: one entry per split.
// A restore at the same parallelism gives each subtask back its own
// splits; one at another parallelism deals whole splits round robin, each
// resuming where it stood.
const splitsList = "splits"

// split is a (stream, subject filter) pair and how far it has been read:
// the unit of reading dealt to source subtasks, and what a checkpoint
// keeps of a source.
type split struct {
	Stream  string `json:"stream"`
	Subject string `json:"subject,omitempty"` // "": the whole stream
	// Next is the stream sequence to read from: one past the last
	// message emitted.
	Next uint64 `json:"next"`
	// Bounded splits end at End, the last sequence that matched the
	// filter when the split first started (0: none did). It is kept in
	// checkpoints so that a restart ends where the first run would have.
	Bounded bool   `json:"bounded,omitempty"`
	End     uint64 `json:"end,omitempty"`
	Done    bool   `json:"done,omitempty"`
}

// ended reports whether a bounded split has nothing left to read.
func (s split) ended() bool { return s.Bounded && s.Next > s.End }

// freshSplits deals the configured subject filters (or the whole stream)
// to subtask i of n: split k goes to subtask k mod n.
func freshSplits[T any](st jetstream.Stream, cfg SourceConfig[T], i, n int) ([]split, error) {
	filters := cfg.Subjects
	if len(filters) == 0 {
		filters = []string{""}
	}
	var out []split
	for k := i; k < len(filters); k += n {
		sp := split{Stream: cfg.Stream, Subject: filters[k], Next: max(cfg.StartSequence, 1), Bounded: cfg.Bounded}
		if cfg.Bounded {
			end, err := lastSequence(st, cfg.Stream, sp.Subject)
			if err != nil {
				return nil, err
			}
			sp.End = end
		}
		out = append(out, sp)
	}
	return out, nil
}

// lastSequence returns the sequence of the last message stored on the
// stream that matches filter ("" for any), or 0 if none does.
func lastSequence(st jetstream.Stream, stream, filter string) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultRequestTimeout)
	defer cancel()
	if filter == "" {
		info, err := st.Info(ctx)
		if err != nil {
			return 0, fmt.Errorf("%w: stream %s: info: %v", ErrStream, stream, err)
		}
		return info.State.LastSeq, nil
	}
	m, err := st.GetLastMsgForSubject(ctx, filter)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("%w: stream %s: last message on %s: %v", ErrStream, stream, filter, err)
	}
	return m.Sequence, nil
}

// SnapshotState records every split's position: after the last message
// Poll emitted, whatever the fetchers have read ahead. Finished splits
// are kept, so that a restore never mistakes an empty state for a fresh
// start.
func (r *reader[T]) SnapshotState(int64) (*operators.OperatorState, error) {
	list := make([][]byte, 0, len(r.splits))
	for _, sp := range r.splits {
		b, err := json.Marshal(sp)
		if err != nil {
			return nil, fmt.Errorf("stream %s: encode position: %w", sp.Stream, err)
		}
		list = append(list, b)
	}
	return &operators.OperatorState{Operator: &persistence.OperatorSnapshot{Lists: map[string][][]byte{splitsList: list}}}, nil
}

// RestoreState takes the splits the subtask was given, in their order,
// in place of the fresh ones; the fetchers start from their positions at
// the first Poll. A subtask may get several splits, or none.
func (r *reader[T]) RestoreState(parts []*operators.OperatorState) error {
	var splits []split
	for _, p := range parts {
		if p == nil || p.Operator == nil {
			continue
		}
		for _, b := range p.Operator.Lists[splitsList] {
			var sp split
			if err := json.Unmarshal(b, &sp); err != nil {
				return fmt.Errorf("%w: stream %s: position: %v", operators.ErrRestore, r.cfg.Stream, err)
			}
			if sp.Stream != r.cfg.Stream {
				return fmt.Errorf("%w: the checkpoint reads stream %s, the source stream %s", operators.ErrRestore, sp.Stream, r.cfg.Stream)
			}
			splits = append(splits, sp)
		}
	}
	r.stop()
	r.splits = splits
	return nil
}
