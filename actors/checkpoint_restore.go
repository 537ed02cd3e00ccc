package actors

import (
	"errors"
	"fmt"

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

// planRestore picks the checkpoint to restart from: the latest complete
// one, or, if it cannot be read, the newest older one that can. No
// checkpoint at all gives a nil plan (start afresh); checkpoints that all
// fail give an error.
func (c *checkpointer) planRestore() (*restorePlan, error) {
	paths, err := c.store.Checkpoints()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRestore, err)
	}
	var errs []error
	for _, path := range paths {
		plan, err := c.load(path)
		if err == nil {
			return plan, nil
		}
		c.m.log.Error("cannot restore checkpoint; trying an older one", "path", path, "err", err)
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrRestore, errors.Join(errs...))
	}
	return nil, nil
}

// load reads every subtask state of the checkpoint at path and deals them
// out to the subtasks of the job's graph.
func (c *checkpointer) load(path string) (*restorePlan, error) {
	cp, err := c.store.Open(path)
	if err != nil {
		return nil, err
	}
	return planFrom(cp, c.m.graph)
}

// planFrom deals a checkpoint's state out to g's subtasks, by operator
// name: keyed snapshots go to every subtask (each keeps its key groups);
// operator lists stay with their subtask at an unchanged parallelism and
// are dealt round robin on a rescale (persistence.Redistribute).
func planFrom(cp *persistence.Checkpoint, g *operators.JobGraph) (*restorePlan, error) {
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
			plan.parts[taskID(v, i)] = partsFor(byOp, v, i)
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

// loadExternal reads a checkpoint or savepoint the job was submitted with,
// from this job's store or from a directory.
func (c *checkpointer) loadExternal(path string) (*restorePlan, error) {
	cp, err := c.store.Open(path)
	if err != nil {
		if cp, err = persistence.OpenCheckpoint(path); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRestore, err)
		}
	}
	plan, err := planFrom(cp, c.m.graph)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRestore, err)
	}
	return plan, nil
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
