package actors

import (
	"fmt"
	"slices"
	"time"

	"github.com/troupe-dev/troupe/barrier"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// restorePlan says what an attempt restores: a checkpoint and, per
// subtask, which parts of which old subtasks' state it takes. It is made
// from the checkpoint's metadata alone, on the master (or, on another
// node, on the agent): each subtask reads its own parts when it deploys
// (taskRestore.read), so that the master never holds the job's state and
// a node reads only its subtasks' — as Flink's JobMaster assigns state
// handles and each task reads its own state from checkpoint storage.
type restorePlan struct {
	id    int64
	path  string
	tasks map[barrier.TaskID]*taskRestore
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
// never sent (c.unnotified): nothing acted on it, so it is skipped. Only
// the metadata is read here; a state file that cannot be read fails the
// subtask that reads it, and the master applies the same rule then
// (skipUnreadable). Checkpoints of other runs (a store shared against
// CheckpointConfig's rule) are never restored.
func (c *checkpointer) planRestore() (*restorePlan, error) {
	paths, err := c.store.Checkpoints()
	if err != nil {
		return nil, fmt.Errorf("%w: list checkpoints: %w", ErrRestore, err)
	}
	for _, path := range paths {
		if c.skipped[path] {
			continue
		}
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

// skipUnreadable is told that a subtask could not read its state of the
// checkpoint at path (err): if the checkpoint's completion was never
// notified, it is skipped from now on and it reports true (the restart
// restores the one before); otherwise the restore must fail.
func (c *checkpointer) skipUnreadable(path string, err error) bool {
	if c == nil || !c.unnotified[path] {
		return false
	}
	c.m.log.Warn("skipping a checkpoint with an unreadable state file whose completion was never notified", "path", path, "err", err)
	if c.skipped == nil {
		c.skipped = map[string]bool{}
	}
	c.skipped[path] = true
	return true
}

// planFrom plans the restore of a checkpoint for g's subtasks, by
// operator name, from its metadata alone (see taskRestore).
func planFrom(cp *persistence.Checkpoint, g *operators.JobGraph) (*restorePlan, error) {
	return planFor(cp, g, func(*operators.Vertex, int) bool { return true })
}

// planFor is planFrom for the subtasks that mine accepts only (a job
// agent's).
func planFor(cp *persistence.Checkpoint, g *operators.JobGraph, mine func(*operators.Vertex, int) bool) (*restorePlan, error) {
	if cp.Meta.Job != g.Name {
		return nil, fmt.Errorf("%w: %s holds pipeline %q, not %q", ErrRestore, cp.Path, cp.Meta.Job, g.Name)
	}
	if cp.Meta.MaxParallelism != g.MaxParallelism {
		return nil, fmt.Errorf("%w: %s has max parallelism %d, the job %d", ErrRestore, cp.Path, cp.Meta.MaxParallelism, g.MaxParallelism)
	}
	if err := checkChannelState(cp, g); err != nil {
		return nil, err
	}
	byOp, err := oldPartsByOperator(cp)
	if err != nil {
		return nil, err
	}
	plan := &restorePlan{id: cp.Meta.ID, path: cp.Path, tasks: map[barrier.TaskID]*taskRestore{},
		finished: finishedVertices(cp.Meta)}
	var channels map[string]map[int]string
	if replaysChannels(cp.Meta, g) {
		channels = channelHandles(cp.Meta)
	}
	for _, v := range g.Vertices {
		for i := range v.Parallelism {
			if !mine(v, i) {
				continue
			}
			t := taskFor(cp, byOp, v, i, g.MaxParallelism)
			if h := channels[v.Name][i]; h != "" {
				if t == nil {
					t = &taskRestore{cp: cp, index: i, parallelism: v.Parallelism}
				}
				t.channels = h
			}
			plan.tasks[taskID(v, i)] = t
		}
	}
	return plan, nil
}

// checkChannelState refuses to restore a checkpoint with records in
// flight (an unaligned one) into a job whose vertices have another
// parallelism, or that lacks a vertex that has in-flight data (its
// callers wrap the error with ErrRestore): channel state belongs to the
// channels between the old subtasks, numbered as they were. Flink
// restores unaligned checkpoints only at their own parallelism too, and
// rescales from savepoints, which are always aligned; we redistribute no
// channel state. An unaligned checkpoint without records in flight holds
// only the watermarks its channels had, which a rescaled restore can
// drop: it restores as an aligned one (see replaysChannels).
func checkChannelState(cp *persistence.Checkpoint, g *operators.JobGraph) error {
	if cp.Meta.InFlightBytes() == 0 {
		return nil
	}
	if v, old, ok := rescaledVertex(cp.Meta, g); ok {
		return fmt.Errorf("%w: %s holds in-flight data (an unaligned checkpoint) and %q ran at parallelism %d there, "+
			"at %d now; restore it at parallelism %d, or take a savepoint (always aligned) to rescale",
			ErrUnalignedRescale, cp.Path, v.Name, old, v.Parallelism, old)
	}
	now := map[string]bool{}
	for _, v := range g.Vertices {
		now[v.Name] = true
	}
	for _, t := range cp.Meta.Tasks {
		if !now[t.Vertex] && t.InFlight > 0 {
			return fmt.Errorf("%s holds in-flight data of %q, which the job does not have", cp.Path, t.Vertex)
		}
	}
	return nil
}

// rescaledVertex returns a vertex of g that ran at another parallelism in
// the checkpoint, with its old parallelism.
func rescaledVertex(m *persistence.Metadata, g *operators.JobGraph) (*operators.Vertex, int, bool) {
	old := map[string]int{}
	for _, t := range m.Tasks {
		old[t.Vertex] = t.Parallelism
	}
	for _, v := range g.Vertices {
		if p, ok := old[v.Name]; ok && p != v.Parallelism {
			return v, p, true
		}
	}
	return nil, 0, false
}

// replaysChannels reports whether a restore of the checkpoint into g
// replays its channel state: only at the parallelism it was taken at
// (checkChannelState refuses a rescale of one with records in flight).
func replaysChannels(m *persistence.Metadata, g *operators.JobGraph) bool {
	_, _, rescaled := rescaledVertex(m, g)
	return m.HasChannelState() && !rescaled
}

// channelHandles returns the handles of the subtasks' channel state, by
// vertex name and subtask index.
func channelHandles(m *persistence.Metadata) map[string]map[int]string {
	hs := map[string]map[int]string{}
	for _, t := range m.Tasks {
		if t.Channels == "" {
			continue
		}
		if hs[t.Vertex] == nil {
			hs[t.Vertex] = map[int]string{}
		}
		hs[t.Vertex][t.Subtask] = t.Channels
	}
	return hs
}

// oldPart is one old subtask's state of an operator, as the metadata
// tells it, and what a new subtask takes of it.
type oldPart struct {
	handle string // "": the old subtask stored no state of the operator
	// summary is what the state holds; nil in metadata written before
	// summaries, when the file may hold anything
	summary *persistence.StateSummary
	keyed   bool // take its keyed state: its key groups overlap the new subtask's
	op      bool // take its operator snapshot (read it)
}

// oldParts is one operator's state in the old subtasks, by old subtask
// index: len is the old parallelism.
type oldParts []oldPart

// oldPartsByOperator lists, per operator name, the old subtasks' state
// files that may hold its state. Every subtask of an operator must have
// had the same parallelism: it is what decides where the state goes.
func oldPartsByOperator(cp *persistence.Checkpoint) (map[string]oldParts, error) {
	byOp := map[string]oldParts{}
	for _, t := range cp.Meta.Tasks {
		if t.Handle == "" {
			continue
		}
		for _, name := range t.Operators {
			part := oldPart{handle: t.Handle}
			if t.States != nil {
				sum, ok := t.States[name]
				if !ok {
					continue // no state of this operator in the file
				}
				part.summary = &sum
			}
			var err error
			if byOp[name], err = placePart(byOp[name], t, part); err != nil {
				return nil, fmt.Errorf("%s: operator %q: %w", cp.Path, name, err)
			}
		}
	}
	return byOp, nil
}

// placePart puts old subtask t's part of an operator in its place.
func placePart(olds oldParts, t persistence.TaskState, p oldPart) (oldParts, error) {
	if t.Subtask < 0 || t.Subtask >= t.Parallelism {
		return nil, fmt.Errorf("subtask %d of parallelism %d", t.Subtask, t.Parallelism)
	}
	if olds == nil {
		olds = make(oldParts, t.Parallelism)
	}
	if len(olds) != t.Parallelism {
		return nil, fmt.Errorf("state of subtasks at parallelism %d and %d", len(olds), t.Parallelism)
	}
	if olds[t.Subtask].handle != "" {
		return nil, fmt.Errorf("two states of subtask %d", t.Subtask)
	}
	olds[t.Subtask] = p
	return olds, nil
}

// taskRestore is what one subtask restores: for each of its operators
// with state in the checkpoint, which parts of the old subtasks' states
// it takes. As in Flink:
//
//   - keyed state: that of every old subtask whose key groups overlap its
//     own (at an unchanged parallelism, its own only); it keeps its key
//     groups of it;
//   - operator lists: at an unchanged parallelism its own old subtask's,
//     on a rescale its share of all, dealt round robin
//     (persistence.Redistribute); union lists: all of them, whole.
//
// So at an unchanged parallelism a subtask reads its own state file only,
// unless an operator has union lists (every subtask reads every file that
// holds some, skipping the rest of those files undecoded).
type taskRestore struct {
	cp                 *persistence.Checkpoint // reads the state files
	index, parallelism int                     // the new subtask's
	ops                []opRestore
	// channels is the handle of the subtask's in-flight data, "" for
	// none (an unaligned checkpoint restores at its own parallelism only,
	// so it is the old subtask of the same index's)
	channels string
}

// opRestore is one operator's old parts and what the subtask takes.
type opRestore struct {
	name string
	olds oldParts
}

// taskFor plans what subtask i of v takes; nil when none of its
// operators has state in the checkpoint.
func taskFor(cp *persistence.Checkpoint, byOp map[string]oldParts, v *operators.Vertex, i, maxPar int) *taskRestore {
	t := &taskRestore{cp: cp, index: i, parallelism: v.Parallelism}
	start, end := operators.KeyGroupRange(i, v.Parallelism, maxPar)
	for _, name := range v.Operators() {
		olds := byOp[name]
		if olds == nil {
			continue
		}
		op := opRestore{name: name, olds: slices.Clone(olds)}
		rescaled := len(olds) != v.Parallelism
		for j := range op.olds {
			o := &op.olds[j]
			switch {
			case o.handle == "":
			case o.summary == nil: // may hold anything: take all of it
				o.keyed, o.op = true, true
			default:
				s, e := operators.KeyGroupRange(j, len(olds), maxPar)
				o.keyed = o.summary.Keyed && s < end && start < e
				o.op = o.summary.Operator && (rescaled || j == i || len(o.summary.Union) > 0)
			}
		}
		t.ops = append(t.ops, op)
	}
	if len(t.ops) == 0 {
		return nil
	}
	return t
}

// read reads the state files the subtask takes parts of, each once, and
// returns its parts by operator name, as Chain.Open restores them: the
// keyed snapshots it takes, in old subtask order, then its share of the
// operator lists. An operator gets parts (and is restored) when some old
// subtask had state of it, as if every old keyed snapshot were given and
// the operator kept only its key groups of them. A nil taskRestore reads
// nothing (a fresh start). Errors wrap ErrRestore and name the file.
func (t *taskRestore) read() (map[string][]*operators.OperatorState, error) {
	if t == nil || len(t.ops) == 0 {
		return nil, nil
	}
	files, err := t.readFiles()
	if err != nil {
		return nil, err
	}
	parts := map[string][]*operators.OperatorState{}
	for _, op := range t.ops {
		if p, ok := op.assemble(files, t.parallelism, t.index); ok {
			parts[op.name] = p
		}
	}
	return parts, nil
}

// readChannels reads the subtask's in-flight data; nil for none.
// Errors wrap ErrRestore and name the file.
func (t *taskRestore) readChannels() (*persistence.ChannelState, error) {
	if t == nil || t.channels == "" {
		return nil, nil
	}
	b, err := t.cp.ReadState(t.channels)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRestore, err)
	}
	cs, err := persistence.UnmarshalChannelState(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s (%s): %w", ErrRestore, t.cp.Path, t.channels, err)
	}
	return cs, nil
}

// take is what a subtask takes of one operator's state in one file.
type take struct{ keyed, op bool }

// readFiles reads each state file the subtask takes something of and
// decodes only what it takes, by handle.
func (t *taskRestore) readFiles() (map[string]operators.SubtaskState, error) {
	want := map[string]map[string]take{}
	var handles []string
	for _, op := range t.ops {
		for _, o := range op.olds {
			if !o.keyed && !o.op {
				continue
			}
			if want[o.handle] == nil {
				want[o.handle] = map[string]take{}
				handles = append(handles, o.handle)
			}
			w := want[o.handle][op.name]
			want[o.handle][op.name] = take{keyed: w.keyed || o.keyed, op: w.op || o.op}
		}
	}
	files := make(map[string]operators.SubtaskState, len(handles))
	for _, h := range handles {
		b, err := t.cp.ReadState(h)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRestore, err)
		}
		st, err := operators.DecodeSubtaskState(b, func(name string) (bool, bool) {
			w := want[h][name]
			return w.keyed, w.op
		})
		if err != nil {
			return nil, fmt.Errorf("%w: %s (%s): %w", ErrRestore, t.cp.Path, h, err)
		}
		files[h] = st
	}
	return files, nil
}

// assemble returns the parts of the operator that new subtask i of par
// takes, from the decoded files, and whether the operator restores.
func (op opRestore) assemble(files map[string]operators.SubtaskState, par, i int) ([]*operators.OperatorState, bool) {
	var parts []*operators.OperatorState
	snaps := make([]*persistence.OperatorSnapshot, len(op.olds))
	restores, anyOp := false, false
	for j, o := range op.olds {
		var st *operators.OperatorState
		if o.keyed || o.op {
			st = files[o.handle][op.name]
		}
		if o.summary != nil && o.summary.Keyed {
			restores = true // its key groups are not this subtask's: nothing of it to keep
		}
		if o.keyed && st != nil && st.Keyed != nil {
			parts = append(parts, &operators.OperatorState{Keyed: st.Keyed})
			restores = true
		}
		switch {
		case o.op && st != nil:
			snaps[j] = st.Operator
		case !o.op && o.summary != nil && o.summary.Operator:
			snaps[j] = listNames(o.summary) // lists that stay with their own subtask: only their names count
		}
		anyOp = anyOp || snaps[j] != nil
	}
	if anyOp {
		parts = append(parts, &operators.OperatorState{Operator: persistence.Redistribute(snaps, par)[i]})
		restores = true
	}
	return parts, restores
}

// listNames is an operator snapshot with the lists a summary names and no
// entries: Redistribute gives every new subtask every list name, with an
// empty list if it gets no entries of it.
func listNames(s *persistence.StateSummary) *persistence.OperatorSnapshot {
	snap := &persistence.OperatorSnapshot{Lists: map[string][][]byte{}, Union: map[string][][]byte{}}
	for _, name := range s.Lists {
		snap.Lists[name] = nil
	}
	for _, name := range s.Union {
		snap.Union[name] = nil
	}
	return snap
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
	if n, ok := c.store.(checkpointNumberer); ok {
		// Above every ID an earlier run began on the store too, not only
		// above its newest complete checkpoint: that run's late discard of
		// its aborted checkpoint would remove ours of the same ID.
		last, err := n.LastID()
		if err != nil {
			return 0, fmt.Errorf("actors: the run's newest checkpoint ID: %w", err)
		}
		first = max(first, last+1)
	}
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
	if err := checkChannelState(cp, m.graph); err != nil {
		return fmt.Errorf("%w: %w", ErrRestore, err)
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
