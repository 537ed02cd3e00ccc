package operators

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/troupe-dev/troupe/persistence"
)

// txnCollectWriter is the two-phase-commit collecting sink: the current
// epoch's records wait in epoch; at a barrier they become a pending
// transaction, kept in the checkpoint, committed when it completes.
type txnCollectWriter[T any] struct {
	c       *Collected[T]
	writer  string // drawn at random as the subtask opens: see txnID
	subtask int
	epoch   []Element[T]
	pending map[int64][]Element[T] // by checkpoint ID
}

// txn is a pending transaction as stored in the sink's operator state.
type txn[T any] struct {
	ID    txnID        `json:"id"`
	Elems []Element[T] `json:"elems"`
}

func (w *txnCollectWriter[T]) Write(v T, ts int64) error {
	w.epoch = append(w.epoch, Element[T]{Value: v, Timestamp: ts})
	return nil
}

// SnapshotState ends the epoch (pre-commit) and stores every pending
// transaction.
func (w *txnCollectWriter[T]) SnapshotState(id int64) (*OperatorState, error) {
	w.pending[id], w.epoch = w.epoch, nil
	var list [][]byte
	for _, cid := range slices.Sorted(maps.Keys(w.pending)) {
		b, err := json.Marshal(txn[T]{ID: w.txnID(cid), Elems: w.pending[cid]})
		if err != nil {
			return nil, fmt.Errorf("collect: encode epoch of checkpoint %d: %w", cid, err)
		}
		list = append(list, b)
	}
	return &OperatorState{Operator: &persistence.OperatorSnapshot{Lists: map[string][][]byte{"pending": list}}}, nil
}

// txnID names the transaction of this writer's epoch ended by checkpoint
// cid.
func (w *txnCollectWriter[T]) txnID(cid int64) txnID {
	return txnID{Writer: w.writer, Subtask: w.subtask, Checkpoint: cid}
}

// NotifyCheckpointComplete commits every transaction up to id.
func (w *txnCollectWriter[T]) NotifyCheckpointComplete(id int64) error {
	for _, cid := range slices.Sorted(maps.Keys(w.pending)) {
		if cid <= id {
			w.c.commit(w.txnID(cid), w.pending[cid])
			delete(w.pending, cid)
		}
	}
	return nil
}

// EndInput makes the last epoch a transaction committed when the whole job
// has finished (EndOfJob).
func (w *txnCollectWriter[T]) EndInput() error {
	w.pending[EndOfJob], w.epoch = w.epoch, nil
	return nil
}

// RestoreState commits the transactions of the restored checkpoint: it is
// complete, so they must be visible, whether or not they already were.
func (w *txnCollectWriter[T]) RestoreState(parts []*OperatorState) error {
	var txns []txn[T]
	for _, p := range parts {
		if p == nil || p.Operator == nil {
			continue
		}
		for _, b := range p.Operator.Lists["pending"] {
			var t txn[T]
			if err := json.Unmarshal(b, &t); err != nil {
				return fmt.Errorf("collect: decode pending epoch: %w", err)
			}
			txns = append(txns, t)
		}
	}
	slices.SortFunc(txns, func(a, b txn[T]) int {
		return cmp.Or(cmp.Compare(a.ID.Checkpoint, b.ID.Checkpoint), cmp.Compare(a.ID.Subtask, b.ID.Subtask),
			cmp.Compare(a.ID.Writer, b.ID.Writer))
	})
	for _, t := range txns {
		w.c.commit(t.ID, t.Elems)
	}
	return nil
}
