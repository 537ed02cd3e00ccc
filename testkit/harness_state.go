package testkit

import (
	"cmp"
	"slices"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// Snapshot is the state of the subtask under test at a checkpoint, encoded
// as the runtime stores it, with the subtask it was taken from.
type Snapshot struct {
	Checkpoint           int64
	Subtask, Parallelism int
	Data                 []byte
}

// RestoreFrom starts the harness from snapshots taken by other harnesses:
// all subtasks of an operator at one parallelism, or some of them. As the
// runtime does, keyed state goes by key group and operator list state
// stays in place at the snapshots' parallelism (each subtask gets back its
// own); with WithSubtask at another parallelism, a rescale, the lists are
// dealt round robin. Union lists go to every subtask.
func RestoreFrom(snaps ...*Snapshot) HarnessOption {
	return func(c *harnessConfig) { c.restore = snaps }
}

// Snapshot does what a subtask does when checkpoint id's barrier has come
// on every input: it snapshots the operators' state, then forwards the
// barrier, which appears in Output. The state goes through its encoding,
// so what a restore gets is what storage would hold.
func (h *base[Out]) Snapshot(id int64) *Snapshot {
	h.t.Helper()
	var snap *Snapshot
	h.run("snapshot", func() {
		// An operator that fetches its state (an actor's) is asked first,
		// and the snapshot waits for its answer, as in a subtask.
		for !h.chain.PrepareSnapshot(id) {
			if h.host.actors.pending == 0 {
				h.t.Fatalf("harness: snapshot %d: an operator is not ready and waits for nothing", id)
			}
			if h.reply("snapshot"); h.err != nil {
				return
			}
		}
		st, err := h.chain.Snapshot(id)
		if err != nil {
			h.fail("snapshot", err)
			return
		}
		data, err := st.MarshalBinary()
		_ = st.Close() // streamed (bbolt) snapshots end here: their bytes are in data
		if err != nil {
			h.t.Fatalf("harness: encode snapshot %d: %v", id, err)
		}
		snap = &Snapshot{Checkpoint: id, Subtask: h.cfg.subtask, Parallelism: h.vertex.Parallelism, Data: data}
		h.chain.Emit(operators.Barrier{ID: id})
	})
	return snap
}

// NotifyCheckpointComplete tells the operators that checkpoint id is
// complete (its metadata is durable): two-phase-commit sinks commit.
func (h *base[Out]) NotifyCheckpointComplete(id int64) {
	h.t.Helper()
	h.run("checkpoint complete", func() {
		if err := h.chain.NotifyCheckpointComplete(id); err != nil {
			h.fail("checkpoint complete", err)
		}
	})
}

// restoreParts computes what the subtask under test owns of snaps, as the
// runtime does: every keyed snapshot, and its share of the operator lists,
// which stay in place when the parallelism is the snapshots'.
func (c *core) restoreParts() map[string][]*operators.OperatorState {
	c.t.Helper()
	if len(c.cfg.restore) == 0 {
		return nil
	}
	snaps := slices.SortedFunc(slices.Values(c.cfg.restore), func(a, b *Snapshot) int { return cmp.Compare(a.Subtask, b.Subtask) })
	oldPar := snaps[0].Parallelism
	keyed := map[string][]*operators.OperatorState{}
	lists := map[string][]*persistence.OperatorSnapshot{} // by old subtask
	for i, s := range snaps {
		if s.Parallelism != oldPar || s.Subtask < 0 || s.Subtask >= oldPar || (i > 0 && snaps[i-1].Subtask == s.Subtask) {
			c.t.Fatalf("harness: RestoreFrom needs snapshots of distinct subtasks of one parallelism; got subtask %d of %d among subtasks of %d",
				s.Subtask, s.Parallelism, oldPar)
		}
		st, err := operators.UnmarshalSubtaskState(s.Data)
		if err != nil {
			c.t.Fatalf("harness: restore snapshot of subtask %d: %v", s.Subtask, err)
		}
		for name, os := range st {
			if os.Keyed != nil {
				keyed[name] = append(keyed[name], &operators.OperatorState{Keyed: os.Keyed})
			}
			if os.Operator != nil {
				if lists[name] == nil {
					lists[name] = make([]*persistence.OperatorSnapshot, oldPar)
				}
				lists[name][s.Subtask] = os.Operator
			}
		}
	}
	for name, ops := range lists {
		mine := persistence.Redistribute(ops, c.cfg.parallelism)[c.cfg.subtask]
		keyed[name] = append(keyed[name], &operators.OperatorState{Operator: mine})
	}
	return keyed
}
