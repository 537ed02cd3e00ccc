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

// subjectsUnion names the source's union list state: each subtask adds
// the subject filters of its splits, so that a restore gives every
// subtask every filter the checkpoint reads — how it tells a filter added
// to the configuration since (no subtask has a split for it) from one
// that another subtask holds. Checkpoints of versions before it lack it.
const subjectsUnion = "subjects"

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

// filters returns the configured subject filters, or "" (the whole
// stream) when none is.
func (c SourceConfig[T]) filters() []string {
	if len(c.Subjects) == 0 {
		return []string{""}
	}
	return c.Subjects
}

// freshSplits deals the configured subject filters (or the whole stream)
// to subtask i of n: filter k goes to subtask k mod n. Filters for which
// covered (if set) reports true are left out: a restored split reads
// them.
func freshSplits[T any](st jetstream.Stream, cfg SourceConfig[T], i, n int, covered func(string) bool) ([]split, error) {
	filters := cfg.filters()
	var out []split
	for k := i; k < len(filters); k += n {
		if covered != nil && covered(filters[k]) {
			continue
		}
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
// start. The union list records the splits' filters (see subjectsUnion).
func (r *reader[T]) SnapshotState(int64) (*operators.OperatorState, error) {
	list := make([][]byte, 0, len(r.splits))
	subjects := make([][]byte, 0, len(r.splits))
	for _, sp := range r.splits {
		b, err := json.Marshal(sp)
		if err != nil {
			return nil, fmt.Errorf("stream %s: encode position: %w", sp.Stream, err)
		}
		list = append(list, b)
		subjects = append(subjects, []byte(sp.Subject))
	}
	return &operators.OperatorState{Operator: &persistence.OperatorSnapshot{
		Lists: map[string][][]byte{splitsList: list},
		Union: map[string][][]byte{subjectsUnion: subjects},
	}}, nil
}

// RestoreState takes the splits the subtask was given, in their order,
// in place of the fresh ones; the fetchers start from their positions at
// the first Poll. A subtask may get several splits, or none.
//
// The configuration wins over the checkpoint, as in Flink's Kafka
// source: a restored split whose filter is no longer configured is
// dropped, and a configured filter that no split of the checkpoint reads
// becomes a fresh split (from StartSequence, bounded as configured),
// dealt to one subtask as on a fresh start. Both are logged.
func (r *reader[T]) RestoreState(parts []*operators.OperatorState) error {
	restored, read, known, err := r.decodeSplits(parts)
	if err != nil {
		return err
	}
	splits := r.configured(restored)
	added, err := r.addedSplits(read, known)
	if err != nil {
		return err
	}
	r.stop()
	r.splits = append(splits, added...)
	return nil
}

// decodeSplits returns the subtask's restored splits and the filters the
// whole checkpoint reads; known is false for a checkpoint without them.
func (r *reader[T]) decodeSplits(parts []*operators.OperatorState) (splits []split, read map[string]bool, known bool, err error) {
	read = map[string]bool{}
	for _, p := range parts {
		if p == nil || p.Operator == nil {
			continue
		}
		for _, b := range p.Operator.Lists[splitsList] {
			var sp split
			if err := json.Unmarshal(b, &sp); err != nil {
				return nil, nil, false, fmt.Errorf("%w: stream %s: position: %v", operators.ErrRestore, r.cfg.Stream, err)
			}
			if sp.Stream != r.cfg.Stream {
				return nil, nil, false, fmt.Errorf("%w: the checkpoint reads stream %s, the source stream %s", operators.ErrRestore, sp.Stream, r.cfg.Stream)
			}
			splits = append(splits, sp)
		}
		subjects, ok := p.Operator.Union[subjectsUnion]
		known = known || ok
		for _, b := range subjects {
			read[string(b)] = true
		}
	}
	return splits, read, known, nil
}

// configured keeps the restored splits whose filter is configured.
func (r *reader[T]) configured(restored []split) []split {
	want := map[string]bool{}
	for _, f := range r.cfg.filters() {
		want[f] = true
	}
	kept := restored[:0]
	for _, sp := range restored {
		if want[sp.Subject] {
			kept = append(kept, sp)
			continue
		}
		r.tc.Logger.Warn("jetstream source: a subject filter of the checkpoint is no longer configured: it is not read any more",
			"stream", sp.Stream, "subject", sp.Subject, "position", sp.Next)
	}
	return kept
}

// addedSplits returns fresh splits for this subtask's share of the
// configured filters that the checkpoint does not read. Without the
// checkpoint's filters (known false) no subtask can tell a filter added
// since from one another subtask holds, so none is added: a warning says
// so.
func (r *reader[T]) addedSplits(read map[string]bool, known bool) ([]split, error) {
	if !known {
		if r.tc.Subtask == 0 {
			r.tc.Logger.Warn("jetstream source: the checkpoint does not list its subject filters (written by an older version): "+
				"filters added to the configuration since are not read", "stream", r.cfg.Stream, "subjects", r.cfg.Subjects)
		}
		return nil, nil
	}
	added, err := freshSplits(r.stream, r.cfg, r.tc.Subtask, r.tc.Parallelism, func(f string) bool { return read[f] })
	if err != nil {
		return nil, err
	}
	for _, sp := range added {
		r.tc.Logger.Info("jetstream source: a subject filter new since the checkpoint is read from its start",
			"stream", sp.Stream, "subject", sp.Subject, "from", sp.Next)
	}
	return added, nil
}
