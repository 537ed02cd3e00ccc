package operators

import (
	"fmt"
	"math"

	"github.com/troupe-dev/troupe/persistence"
)

// OperatorState is the snapshot of one operator in one subtask: its keyed
// state by key group and its non-keyed (operator) state, such as a
// source's read position. Either may be nil.
type OperatorState struct {
	Keyed *persistence.KeyedSnapshot
	// KeyedStream, instead of Keyed, is keyed state in a bbolt backend,
	// taken at the barrier and read when the checkpoint is written, off
	// the subtask's goroutine. It holds a read transaction: whoever holds
	// the state closes it (SubtaskState.Close, EncodedState.Close).
	KeyedStream *persistence.BoltSnapshot
	Operator    *persistence.OperatorSnapshot
}

// SubtaskState is the snapshot of a subtask's chain: each stateful
// operator's state under its name, which is its identity across restarts
// and rescaling (names are unique within a pipeline).
type SubtaskState map[string]*OperatorState

// Snapshotter is implemented by operators (and source readers) that have
// state. SnapshotState is called on the subtask's goroutine when the
// checkpoint barrier has passed the operator: the result must be a copy,
// or a consistent view (KeyedStream), not affected by later records.
type Snapshotter interface {
	SnapshotState(checkpoint int64) (*OperatorState, error)
}

// SnapshotPreparer is implemented by operators whose state is not at
// hand on the subtask's goroutine, such as a user's actor holding its
// own (package actors): it has to be asked for, and the answer comes as
// a message. Before it snapshots for a checkpoint, the runtime calls
// PrepareSnapshot until every operator is ready. An operator that is
// not starts getting its state (after whatever it still has in flight,
// so that the state is that of the barrier's place in the stream) and
// reports Blocked until the runtime has taken the snapshot; the runtime
// asks again after each message the chain handles, and snapshots as
// soon as all are ready, before it consumes any more input. Asking
// again for the same checkpoint starts nothing new. A checkpoint asked
// for may be aborted before it is taken: an operator that holds back
// what follows until its snapshot is taken implements SnapshotAborter.
type SnapshotPreparer interface {
	PrepareSnapshot(checkpoint int64) (ready bool)
}

// SnapshotAborter is implemented by SnapshotPreparers that hold back
// what comes after a checkpoint's place in the stream until its snapshot
// is taken. The runtime calls AbortSnapshot for a checkpoint it asked
// them to prepare and will not take (it was aborted before this subtask
// took it, as Flink tells operators with notifyCheckpointAborted): the
// operator forgets it — the state it fetched, or is fetching, for it —
// and goes on; otherwise it would wait for a snapshot never taken.
type SnapshotAborter interface {
	AbortSnapshot(checkpoint int64)
}

// Restorer is implemented by operators with state, to take it back after
// a failure or from a savepoint, before their first record. parts holds
// what the operator's subtask owns: the keyed snapshots of every old
// subtask whose key groups overlap its own (the operator keeps only its
// key groups), and its share of the operator state.
type Restorer interface {
	RestoreState(parts []*OperatorState) error
}

// EndOfJob is the checkpoint ID of the completion notice a job's subtasks
// get when the whole job has finished: listeners commit everything they
// still hold, as after a last checkpoint.
const EndOfJob int64 = math.MaxInt64

// CheckpointListener is implemented by operators that act once a
// checkpoint is complete (its metadata durably written), such as sinks
// that commit the output of the checkpoint's epoch. Notifications may be
// skipped: a listener told of checkpoint n commits everything up to n.
type CheckpointListener interface {
	NotifyCheckpointComplete(checkpoint int64) error
}

// Snapshot takes the state of every stateful operator of the chain (and
// of its source) for checkpoint id. The caller closes the result (it may
// hold streamed snapshots); if an operator fails (or panics), Snapshot
// closes what it had taken.
func (c *Chain) Snapshot(id int64) (SubtaskState, error) {
	st, taken := SubtaskState{}, false
	defer func() {
		if !taken {
			_ = st.Close() // given up: read transactions, nothing to lose
		}
	}()
	for i, h := range c.stateful() {
		s, ok := h.(Snapshotter)
		if !ok {
			continue
		}
		if err := c.injectAt(FaultSnapshot, i); err != nil {
			return nil, c.opError(i, fmt.Errorf("snapshot for checkpoint %d: %w", id, err))
		}
		os, err := s.SnapshotState(id)
		if err != nil {
			return nil, c.opError(i, fmt.Errorf("snapshot for checkpoint %d: %w", id, err))
		}
		if os != nil {
			st[c.names[i]] = os
		}
	}
	taken = true
	return st, nil
}

// PrepareSnapshot asks the operators that fetch their state
// (SnapshotPreparer) to get it for checkpoint id, and reports whether
// every operator is ready to snapshot. When it is not, the runtime calls
// it again after each message the chain handles (HandleMessage), and
// calls Snapshot once it reports true.
//
// A source's chain that holds records of its poll (Pending) is not ready
// either: the reader's position already counts them, and no operator
// state covers them, so an aligned snapshot and its barrier wait until
// they have gone through the chain (at most one poll, as Flink's source
// checkpoints between two records it emits). An unaligned one stores
// them instead (PrepareUnalignedSnapshot). A chain that holds the rest
// of an input batch is ready: see HeldInput for why that is safe.
func (c *Chain) PrepareSnapshot(id int64) bool {
	return c.prepare(id, !c.sourceHolding())
}

// PrepareUnalignedSnapshot is PrepareSnapshot for an unaligned
// checkpoint: what the chain's source holds of its poll does not hold it
// back, since the runtime stores it as in-flight data (HeldSource) —
// unless it holds an event a test's source emitted, or records JSON, their
// default codec, would not round-trip, which cannot be stored and wait as
// for an aligned checkpoint.
func (c *Chain) PrepareUnalignedSnapshot(id int64) bool {
	h, ok := c.Source.(holder)
	return c.prepare(id, !ok || !h.holding() || h.storable())
}

// prepare asks every SnapshotPreparer to get its state for checkpoint id
// and reports whether all are ready, and ready as well.
func (c *Chain) prepare(id int64, ready bool) bool {
	for _, h := range c.hooks {
		if p, ok := h.(SnapshotPreparer); ok && !p.PrepareSnapshot(id) {
			ready = false
		}
	}
	return ready
}

// AbortSnapshot tells the operators that fetch their state
// (SnapshotAborter) that the runtime will not take checkpoint id, which
// it asked them to prepare (PrepareSnapshot): it was aborted first.
func (c *Chain) AbortSnapshot(id int64) {
	for _, h := range c.hooks {
		if a, ok := h.(SnapshotAborter); ok {
			a.AbortSnapshot(id)
		}
	}
}

// restore hands each operator its parts of a restored state, by name,
// tail first, as Flink's chain initializes operator state (tail to head):
// an operator may emit while it restores — async I/O invokes its pending
// records again, and their results may be released before its restore
// returns — and what it emits must reach operators that are restored
// already. A file sink that got records before its restore would take
// them for a fresh start and remove the pending files of the checkpoint
// it is about to commit.
func (c *Chain) restore(parts map[string][]*OperatorState) error {
	ops := c.stateful()
	for i := len(ops) - 1; i >= 0; i-- {
		h := ops[i]
		p, ok := parts[c.names[i]]
		if !ok {
			continue
		}
		r, ok := h.(Restorer)
		if !ok {
			return c.opError(i, fmt.Errorf("%w: the operator has no state to restore", ErrRestore))
		}
		if err := c.injectAt(FaultRestore, i); err != nil {
			return c.opError(i, fmt.Errorf("restore: %w", err))
		}
		if err := r.RestoreState(p); err != nil {
			return c.opError(i, fmt.Errorf("restore: %w", err))
		}
	}
	return nil
}

// NotifyCheckpointComplete tells the chain's listeners that checkpoint id
// is complete.
func (c *Chain) NotifyCheckpointComplete(id int64) error {
	for i, h := range c.stateful() {
		err := c.injectAt(FaultNotifyComplete, i)
		l, listens := h.(CheckpointListener)
		if err == nil && listens && id == EndOfJob {
			if err := c.injectAt(FaultFinalCommit, i); err != nil {
				return c.opError(i, fmt.Errorf("final commit: %w", err))
			}
		}
		if err == nil && listens {
			err = l.NotifyCheckpointComplete(id)
		}
		if err != nil {
			return c.opError(i, fmt.Errorf("checkpoint %d complete: %w", id, err))
		}
	}
	return nil
}

// stateful returns the hooks by operator position, with the source's
// reader in the head's place.
func (c *Chain) stateful() []any {
	if r, ok := c.Source.(interface{ readerHook() any }); ok {
		return append([]any{r.readerHook()}, c.hooks[1:]...)
	}
	return c.hooks
}

// injectAt lets a test's fault injector fail operator i at point.
func (c *Chain) injectAt(point FaultPoint, i int) error {
	pf, ok := c.faults.(PointFaultInjector)
	if !ok {
		return nil
	}
	info := c.info
	info.Operator = c.names[i]
	return pf.At(point, info)
}

func (c *Chain) opError(i int, err error) error {
	return &OperatorError{Operator: c.names[i], Subtask: c.info.Subtask, Parallelism: c.info.Parallelism, Err: err}
}
