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
	// savepoints waiting for their checkpoint to complete or abort
	waiters map[int64]chan<- savepointResult
}

// TaskID names a subtask in the coordinator, the same in every attempt.
func taskID(v *operators.Vertex, i int) barrier.TaskID {
	return barrier.TaskID(fmt.Sprintf("%d-%d", v.ID, i))
}

func newCheckpointer(m *master) (*checkpointer, error) {
	cfg := m.cfg.Checkpoint
	store, err := cfg.Store(m.graph.Name)
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
	c := &checkpointer{m: m, store: store, paths: map[int64]string{}, waiters: map[int64]chan<- savepointResult{}}
	if paths, err := store.Checkpoints(); err == nil && len(paths) > 0 {
		if cp, err := store.Open(paths[0]); err == nil {
			bc.FirstID = cp.Meta.ID + 1 // never reuse an ID of a stored checkpoint
		}
	}
	if c.coord, err = barrier.NewCoordinator(bc); err != nil {
		return nil, err
	}
	return c, nil
}

// start (re)arms the periodic tick for a new attempt.
func (c *checkpointer) start(ctx actor.Context) {
	c.stopped = false
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
		acts, err = c.coord.Ack(time.Now(), a.id, a.task, a.handle)
	}
	if err != nil {
		c.m.log.Debug("checkpoint ack ignored", "checkpoint", a.id, "task", a.task, "err", err)
	}
	c.run(ctx, acts)
}

func (c *checkpointer) onMetadataWritten(ctx actor.Context, w *metadataWritten) {
	if w.err == nil {
		c.paths[w.id] = w.path
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
		case barrier.FailJob:
			c.m.onJobFailure(ctx, a.Reason)
		}
	}
}

func (c *checkpointer) trigger(ctx actor.Context, t barrier.Trigger) {
	for _, ref := range c.m.refs {
		if ref.vertex.IsSource() {
			ctx.Send(ref.pid, &triggerMsg{id: t.ID, savepoint: t.Savepoint})
		}
	}
}

// writeMetadata makes the checkpoint durable off the master's goroutine;
// the result comes back as a message.
func (c *checkpointer) writeMetadata(ctx actor.Context, w barrier.WriteMetadata) {
	meta := &persistence.Metadata{ID: w.ID, Savepoint: w.Savepoint, Job: c.m.graph.Name,
		MaxParallelism: c.m.graph.MaxParallelism}
	for _, v := range c.m.graph.Vertices {
		for i := range v.Parallelism {
			h, _ := w.Handles[taskID(v, i)].(string)
			meta.Tasks = append(meta.Tasks, persistence.TaskState{Vertex: v.Name, Operators: v.Operators(),
				Subtask: i, Parallelism: v.Parallelism, Handle: h})
		}
	}
	self, root, store := ctx.Self(), c.m.job.engine.sys.Root, c.store
	go func() {
		path, err := store.CommitMetadata(meta)
		root.Send(self, &metadataWritten{id: w.ID, path: path, err: err})
	}()
}

func (c *checkpointer) complete(ctx actor.Context, id int64) {
	c.latest = c.paths[id]
	delete(c.paths, id)
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
