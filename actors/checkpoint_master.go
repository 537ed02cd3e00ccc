package actors

import (
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/barrier"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// checkpointer is the job master's checkpoint coordinator: it adapts the
// pure barrier.Coordinator to messages, timers and the store. All its
// methods run inside the master's Receive.
type checkpointer struct {
	m       *master
	store   CheckpointStore
	coord   *barrier.Coordinator
	tick    *time.Timer
	paths   map[int64]string // metadata written, not yet notified
	latest  string           // path of the latest complete checkpoint
	stopped bool             // no more checkpoints: a subtask finished
	frozen  bool             // a stop with savepoint: no periodic checkpoint follows
	// The final checkpoint, taken once every subtask has finished:
	// finalWanted then, finalID once triggered, finalDone once it (or a
	// later one) completed.
	finalWanted bool
	finalID     int64
	finalDone   bool
	// savepoints waiting for their checkpoint to complete or abort
	waiters map[int64]chan<- savepointResult
	// unnotified: paths of checkpoints whose metadata this master wrote
	// and whose completion it never sent, so no sink acted on them; only
	// these may be skipped on restore if unreadable (planRestore).
	unnotified map[string]bool
}

// TaskID names a subtask in the coordinator, the same in every attempt.
func taskID(v *operators.Vertex, i int) barrier.TaskID {
	return barrier.TaskID(fmt.Sprintf("%d-%d", v.ID, i))
}

func newCheckpointer(m *master) (*checkpointer, error) {
	cfg := m.cfg.Checkpoint
	store, err := cfg.Store(m.graph.Name, m.job.run)
	if err != nil {
		return nil, fmt.Errorf("actors: checkpoint store: %w", err)
	}
	bc := barrier.DefaultConfig()
	bc.Interval, bc.Timeout, bc.MinPause, bc.TolerableFailures = cfg.Interval, cfg.Timeout, cfg.MinPause, cfg.TolerableFailures
	for _, v := range m.graph.Vertices {
		for i := range v.Parallelism {
			bc.Tasks = append(bc.Tasks, taskID(v, i))
			if v.IsSource() {
				bc.Sources = append(bc.Sources, taskID(v, i))
			}
		}
	}
	c := &checkpointer{m: m, store: store, paths: map[int64]string{}, unnotified: map[string]bool{},
		waiters: map[int64]chan<- savepointResult{}}
	bc.FirstID = c.firstID()
	if c.coord, err = barrier.NewCoordinator(bc); err != nil {
		return nil, err
	}
	return c, nil
}

// start (re)arms the periodic tick for a new attempt.
func (c *checkpointer) start(ctx actor.Context) {
	c.stopped = false
	c.finalWanted, c.finalID, c.finalDone = false, 0, false
	c.run(ctx, c.coord.Reset(time.Now()))
	c.armTick(ctx)
}

func (c *checkpointer) armTick(ctx actor.Context) {
	if c.tick != nil {
		c.tick.Stop()
	}
	period := max(min(c.m.cfg.Checkpoint.Interval/4, c.m.cfg.Checkpoint.Timeout/4), time.Millisecond)
	self, root := ctx.Self(), c.m.job.engine.sys.Root
	c.tick = time.AfterFunc(period, func() { root.Send(self, &checkpointTick{}) })
}

func (c *checkpointer) onTick(ctx actor.Context) {
	if c.m.stopping || c.stopped {
		return
	}
	if c.frozen {
		return // a stop with savepoint: the job is cancelled next
	}
	c.run(ctx, c.coord.Tick(time.Now()))
	c.tryFinal(ctx)
	c.armTick(ctx)
}

// stop ends checkpointing for this attempt (the job is going down, or a
// subtask finished and can no longer take part): pending ones abort.
func (c *checkpointer) stop(ctx actor.Context) {
	if c.tick != nil {
		c.tick.Stop()
	}
	c.stopped = true
	c.run(ctx, c.coord.Reset(time.Now()))
}

func (c *checkpointer) onAck(ctx actor.Context, a *checkpointAck) {
	if a.attempt != c.m.attempt || c.stopped {
		return
	}
	var acts []barrier.Action
	var err error
	if a.err != nil {
		acts, err = c.coord.Decline(time.Now(), a.id, a.task, a.err)
	} else {
		acts, err = c.coord.Ack(time.Now(), a.id, a.task, taskHandle{path: a.handle, finished: a.finished})
	}
	if err != nil {
		c.m.log.Debug("checkpoint ack ignored", "checkpoint", a.id, "task", a.task, "err", err)
	}
	c.run(ctx, acts)
}

func (c *checkpointer) onMetadataWritten(ctx actor.Context, w *metadataWritten) {
	if w.err == nil {
		c.paths[w.id] = w.path
		c.unnotified[w.path] = true
	}
	acts, err := c.coord.MetadataWritten(time.Now(), w.id, w.err)
	if err != nil {
		c.m.log.Debug("metadata result ignored", "checkpoint", w.id, "err", err)
	}
	c.run(ctx, acts)
}

// run carries out the coordinator's actions in order.
func (c *checkpointer) run(ctx actor.Context, acts []barrier.Action) {
	for _, a := range acts {
		switch a := a.(type) {
		case barrier.Trigger:
			c.trigger(ctx, a)
		case barrier.WriteMetadata:
			c.writeMetadata(ctx, a)
		case barrier.NotifyComplete:
			c.complete(ctx, a.ID)
		case barrier.Abort:
			c.abort(a)
			c.tryFinal(ctx)
		case barrier.FailJob:
			c.m.onJobFailure(ctx, a.Reason)
		}
	}
}

// taskHandle is what a subtask's ack gives the coordinator.
type taskHandle struct {
	path     string
	finished bool
}

// trigger sends the trigger to the sources, which inject the barrier, and
// to the subtasks that have finished, which no barrier can reach and
// which store their final state.
func (c *checkpointer) trigger(ctx actor.Context, t barrier.Trigger) {
	for _, ref := range c.m.refs {
		if ref.vertex.IsSource() || c.m.finished[ref.id] {
			ctx.Send(ref.pid, &triggerMsg{id: t.ID, savepoint: t.Savepoint})
		}
	}
}

// writeMetadata makes the checkpoint durable off the master's goroutine;
// the result comes back as a message.
func (c *checkpointer) writeMetadata(ctx actor.Context, w barrier.WriteMetadata) {
	meta := &persistence.Metadata{ID: w.ID, Savepoint: w.Savepoint, Job: c.m.graph.Name, Run: c.m.job.run,
		MaxParallelism: c.m.graph.MaxParallelism}
	for _, v := range c.m.graph.Vertices {
		for i := range v.Parallelism {
			h, _ := w.Handles[taskID(v, i)].(taskHandle)
			meta.Tasks = append(meta.Tasks, persistence.TaskState{Vertex: v.Name, Operators: v.Operators(),
				Subtask: i, Parallelism: v.Parallelism, Handle: h.path, Finished: h.finished})
		}
	}
	self, root, store := ctx.Self(), c.m.job.engine.sys.Root, c.store
	go func() {
		path, err := store.CommitMetadata(meta)
		root.Send(self, &metadataWritten{id: w.ID, path: path, err: err})
	}()
}

// catchUp sends a subtask that just finished the triggers of the
// checkpoints still pending: it may have ended before their barriers
// could reach it (its inputs ended first), and it would never ack them.
// A subtask ignores a checkpoint it already took.
func (c *checkpointer) catchUp(ctx actor.Context, ref *subtaskRef) {
	for _, id := range c.coord.Pending() {
		ctx.Send(ref.pid, &triggerMsg{id: id})
	}
}

// requestFinal asks for the final checkpoint: every subtask has finished.
func (c *checkpointer) requestFinal(ctx actor.Context) {
	c.finalWanted = true
	c.tryFinal(ctx)
}

// tryFinal triggers the final checkpoint if it is wanted and the
// coordinator allows one now; otherwise a later tick tries again.
func (c *checkpointer) tryFinal(ctx actor.Context) {
	if !c.finalWanted || c.finalID != 0 || c.stopped || c.frozen {
		return
	}
	t, err := c.coord.TriggerNow(time.Now(), false)
	if err != nil {
		return // another checkpoint is pending, or the pause is not over
	}
	c.finalID = t.ID
	c.trigger(ctx, t)
}

func (c *checkpointer) complete(ctx actor.Context, id int64) {
	if c.finalID != 0 && id >= c.finalID {
		defer c.m.afterFinalCheckpoint(ctx)
		c.finalDone = true
	} else {
		defer c.tryFinal(ctx) // the final one may have waited for this one
	}
	c.latest = c.paths[id]
	delete(c.paths, id)
	delete(c.unnotified, c.latest)
	c.m.log.Info("checkpoint complete", "checkpoint", id, "path", c.latest)
	c.m.job.setCheckpoint(Checkpoint{ID: id, Path: c.latest})
	for _, ref := range c.m.refs {
		ctx.Send(ref.pid, &completeMsg{id: id})
	}
	if w := c.waiters[id]; w != nil {
		w <- savepointResult{path: c.latest}
		delete(c.waiters, id)
	}
}

func (c *checkpointer) abort(a barrier.Abort) {
	if !errors.Is(a.Reason, barrier.ErrReset) {
		c.m.log.Warn("checkpoint aborted", "checkpoint", a.ID, "reason", a.Reason)
	}
	delete(c.paths, a.ID)
	if a.ID == c.finalID {
		c.finalID = 0 // try again at the next tick
	}
	if err := c.store.Discard(a.ID); err != nil {
		c.m.log.Warn("discarding checkpoint", "checkpoint", a.ID, "err", err)
	}
	if w := c.waiters[a.ID]; w != nil {
		w <- savepointResult{err: fmt.Errorf("%w: savepoint %d: %w", ErrSavepoint, a.ID, a.Reason)}
		delete(c.waiters, a.ID)
	}
}

// savepoint triggers a savepoint now; its path or failure goes to reply.
func (c *checkpointer) savepoint(ctx actor.Context, reply chan<- savepointResult, stop bool) {
	c.frozen = c.frozen || stop
	if c.stopped {
		reply <- savepointResult{err: fmt.Errorf("%w: the job is not running", ErrSavepoint)}
		return
	}
	t, err := c.coord.TriggerNow(time.Now(), true)
	if err != nil {
		reply <- savepointResult{err: fmt.Errorf("%w: %w", ErrSavepoint, err)}
		return
	}
	c.waiters[t.ID] = reply
	c.trigger(ctx, t)
}
