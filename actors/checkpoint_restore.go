package actors

import (
	"fmt"
	"time"

	"github.com/troupe-dev/troupe/barrier"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// restorePlan is, per subtask, the state parts it owns of a checkpoint.
type restorePlan struct {
	id    int64
	path  string
	parts map[barrier.TaskID]map[string][]*operators.OperatorState
	// finished lists the vertices (by name) whose subtasks had all ended
	// at the checkpoint: they are not run again, only ended.
	finished map[string]bool
}

// planRestore picks the checkpoint that a restart (or the first attempt
// of a continued run) resumes from: the run's newest complete checkpoint.
// No checkpoint of the run gives a nil plan.
//
// A newest checkpoint that cannot be read fails the restore rather than
// falling back to an older one, as Flink does: once the sinks have been
// told it is complete they may have committed its epochs, and restoring
// an older checkpoint would commit them again. The one exception is a
// checkpoint whose metadata this master wrote but whose completion it
// never sent (c.unnotified): nothing acted on it, so it is skipped.
// Checkpoints of other runs (a store shared against CheckpointConfig's
// rule) are never restored.
func (c *checkpointer) planRestore() (*restorePlan, error) {
	paths, err := c.store.Checkpoints()
	if err != nil {
		return nil, fmt.Errorf("%w: list checkpoints: %w", ErrRestore, err)
	}
	for _, path := range paths {
		cp, err := c.store.Open(path)
		if err == nil && cp.Meta.Run != c.m.job.run {
			c.m.log.Warn("not restoring a checkpoint of another run found in this run's store",
				"path", path, "its_run", cp.Meta.Run)
			continue
		}
		var plan *restorePlan
		if err == nil {
			plan, err = planFrom(cp, c.m.graph)
		}
		if err == nil {
			return plan, nil
		}
		if !c.unnotified[path] {
			return nil, fmt.Errorf("%w: checkpoint %s: %w (it is complete and its output may be committed, "+
				"so no older checkpoint is restored in its place)", ErrRestore, path, err)
		}
		c.m.log.Warn("skipping an unreadable checkpoint whose completion was never notified", "path", path, "err", err)
	}
	return nil, nil
}

// planFrom deals a checkpoint's state out to g's subtasks, by operator
// name: keyed snapshots go to every subtask (each keeps its key groups);
// operator lists stay with their subtask at an unchanged parallelism and
// are dealt round robin on a rescale (persistence.Redistribute).
func planFrom(cp *persistence.Checkpoint, g *operators.JobGraph) (*restorePlan, error) {
	return planFor(cp, g, func(*operators.Vertex, int) bool { return true })
}

// planFor is planFrom for the subtasks that mine accepts only (a job
// agent's): it reads the whole checkpoint, since every subtask of a keyed
// operator may own key groups of every old subtask.
func planFor(cp *persistence.Checkpoint, g *operators.JobGraph, mine func(*operators.Vertex, int) bool) (*restorePlan, error) {
	if cp.Meta.Job != g.Name {
		return nil, fmt.Errorf("%w: %s holds pipeline %q, not %q", ErrRestore, cp.Path, cp.Meta.Job, g.Name)
	}
	if cp.Meta.MaxParallelism != g.MaxParallelism {
		return nil, fmt.Errorf("%w: %s has max parallelism %d, the job %d", ErrRestore, cp.Path, cp.Meta.MaxParallelism, g.MaxParallelism)
	}
	byOp, err := readStates(cp)
	if err != nil {
		return nil, err
	}
	plan := &restorePlan{id: cp.Meta.ID, path: cp.Path, parts: map[barrier.TaskID]map[string][]*operators.OperatorState{},
		finished: finishedVertices(cp.Meta)}
	for _, v := range g.Vertices {
		for i := range v.Parallelism {
			if mine(v, i) {
				plan.parts[taskID(v, i)] = partsFor(byOp, v, i)
			}
		}
	}
	return plan, nil
}

// oldStates is one operator's state in the old subtasks, by old subtask
// index: len is the old parallelism, nil where a subtask had none.
type oldStates []*operators.OperatorState

func readStates(cp *persistence.Checkpoint) (map[string]oldStates, error) {
	byOp := map[string]oldStates{}
	for _, t := range cp.Meta.Tasks {
		if t.Handle == "" {
			continue
		}
		b, err := cp.ReadState(t.Handle)
		if err != nil {
			return nil, err
		}
		st, err := operators.UnmarshalSubtaskState(b)
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", cp.Path, t.Handle, err)
		}
		for name, os := range st {
			if byOp[name], err = placeState(byOp[name], t, os); err != nil {
				return nil, fmt.Errorf("%s: operator %q: %w", cp.Path, name, err)
			}
		}
	}
	return byOp, nil
}

// placeState puts old subtask t's state of an operator in its place.
// Every subtask of the operator must have had the same parallelism: it is
// what decides whether operator lists stay in place.
func placeState(olds oldStates, t persistence.TaskState, os *operators.OperatorState) (oldStates, error) {
	if t.Subtask < 0 || t.Subtask >= t.Parallelism {
		return nil, fmt.Errorf("subtask %d of parallelism %d", t.Subtask, t.Parallelism)
	}
	if olds == nil {
		olds = make(oldStates, t.Parallelism)
	}
	if len(olds) != t.Parallelism {
		return nil, fmt.Errorf("state of subtasks at parallelism %d and %d", len(olds), t.Parallelism)
	}
	if olds[t.Subtask] != nil {
		return nil, fmt.Errorf("two states of subtask %d", t.Subtask)
	}
	olds[t.Subtask] = os
	return olds, nil
}

// partsFor returns what subtask i of v owns of the old states: every old
// keyed snapshot of its operators (it keeps its key groups), in old
// subtask order, and its share of their operator lists.
func partsFor(byOp map[string]oldStates, v *operators.Vertex, i int) map[string][]*operators.OperatorState {
	parts := map[string][]*operators.OperatorState{}
	for _, name := range v.Operators() {
		olds := byOp[name]
		lists := make([]*persistence.OperatorSnapshot, len(olds))
		anyList := false
		for j, o := range olds {
			if o == nil {
				continue
			}
			if o.Keyed != nil {
				parts[name] = append(parts[name], &operators.OperatorState{Keyed: o.Keyed})
			}
			lists[j], anyList = o.Operator, anyList || o.Operator != nil
		}
		if anyList {
			mine := persistence.Redistribute(lists, v.Parallelism)[i]
			parts[name] = append(parts[name], &operators.OperatorState{Operator: mine})
		}
	}
	return parts
}

// loadExternal reads a checkpoint or savepoint the job was submitted with.
func (c *checkpointer) loadExternal(path string) (*restorePlan, error) {
	cp, err := c.openExternal(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRestore, err)
	}
	plan, err := planFrom(cp, c.m.graph)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRestore, err)
	}
	return plan, nil
}

// firstID returns the ID of the run's first checkpoint: above every
// checkpoint in its store (a continued run) and above the checkpoint it
// starts from (RestoreFrom), as Flink's checkpoint counter goes on from a
// savepoint's ID, and at least FirstCheckpointID's. Checkpoint IDs name
// sink transactions (epochs), so a run that goes on from another's
// checkpoint must not use its IDs again. A store that cannot list or
// open its newest checkpoint is an error: guessing 1 would number the
// run's checkpoints below the one it restores.
func (c *checkpointer) firstID() (int64, error) {
	first := max(int64(1), c.m.firstCheckpoint)
	newest, err := c.newestID()
	for try := 1; err != nil && try < firstIDTries; try++ {
		time.Sleep(time.Duration(try) * 100 * time.Millisecond) // a store that did not answer: once more, later
		newest, err = c.newestID()
	}
	if err != nil {
		return 0, err
	}
	first = max(first, newest+1)
	if c.m.restoreFrom != "" {
		if cp, err := c.openExternal(c.m.restoreFrom); err == nil {
			first = max(first, cp.Meta.ID+1)
		} // else the restore fails, naming the path
	}
	return first, nil
}

// openExternal opens a checkpoint path that is not necessarily in this
// run's store (see openCheckpointAt).
func (c *checkpointer) openExternal(path string) (*persistence.Checkpoint, error) {
	return openCheckpointAt(c.store, c.m.cfg.Checkpoint.mem, path)
}

// openCheckpointAt opens path in store (the run's; nil for none), in the
// in-memory store of the earlier run that the path names (mem, the
// engine's default stores; nil with a Store of the user's), or as a
// checkpoint directory. Job agents on other nodes open the path their
// master chose the same way.
func openCheckpointAt(store CheckpointStore, mem *memStores, path string) (*persistence.Checkpoint, error) {
	if store != nil {
		if cp, err := store.Open(path); err == nil {
			return cp, nil
		}
	}
	if _, ok := persistence.MemStoreName(path); ok && mem != nil {
		return mem.find(path)
	}
	return persistence.OpenCheckpoint(path)
}

// checkRestore checks, before a job is submitted, that the checkpoint it
// restores can be opened and is one of its pipeline (SubmitSpec).
func (m *master) checkRestore() error {
	store, err := m.cfg.Checkpoint.Store(m.graph.Name, m.job.run)
	if err != nil {
		return fmt.Errorf("actors: checkpoint store: %w", err)
	}
	cp, err := openCheckpointAt(store, m.cfg.Checkpoint.mem, m.restoreFrom)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRestore, err)
	}
	switch {
	case cp.Meta.Job != m.graph.Name:
		return fmt.Errorf("%w: %s holds pipeline %q, not %q", ErrRestore, cp.Path, cp.Meta.Job, m.graph.Name)
	case cp.Meta.MaxParallelism != m.graph.MaxParallelism:
		return fmt.Errorf("%w: %s has max parallelism %d, the job %d", ErrRestore, cp.Path, cp.Meta.MaxParallelism, m.graph.MaxParallelism)
	}
	return nil
}

// finishedVertices returns the vertices all of whose subtasks had
// finished when the checkpoint was taken.
func finishedVertices(m *persistence.Metadata) map[string]bool {
	fin := map[string]bool{}
	for _, t := range m.Tasks {
		if f, seen := fin[t.Vertex]; !seen || f {
			fin[t.Vertex] = t.Finished
		}
	}
	return fin
}

// firstIDTries is how often firstID asks a store that fails.
const firstIDTries = 3

// newestID returns the ID of the newest complete checkpoint in the run's
// store, 0 for none.
func (c *checkpointer) newestID() (int64, error) {
	paths, err := c.store.Checkpoints()
	if err != nil {
		return 0, fmt.Errorf("actors: list the run's checkpoints: %w", err)
	}
	if len(paths) == 0 {
		return 0, nil
	}
	cp, err := c.store.Open(paths[0])
	if err != nil {
		return 0, fmt.Errorf("actors: open the run's newest checkpoint: %w", err)
	}
	return cp.Meta.ID, nil
}
