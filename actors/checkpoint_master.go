package actors

import (
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/actors/wire"
	"github.com/troupe-dev/troupe/barrier"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// checkpointer is the job master's checkpoint coordinator: it adapts the
// pure barrier.Coordinator to messages, timers and the store. All its
// methods run inside the master's Receive. It owns the metadata writer,
// which it starts with the first attempt and closes when the job ends.
//
// Savepoints: every caller gets an answer, the path once the savepoint's
// metadata is durable (even if a newer checkpoint completed first, or the
// job ends meanwhile) or an error once it is aborted (timed out, declined,
// its commit failed, the job restarted or ended before its commit began).
// A stop with savepoint suspends periodic checkpoints until its savepoint
// ends; if it fails they resume and the job runs on, as in Flink. If it
// completes, the master ends the job once every subtask has committed up
// to it (master.stopCommit).
type checkpointer struct {
	m       *master
	store   CheckpointStore
	coord   *barrier.Coordinator
	writer  *metadataWriter  // nil before the first attempt starts
	tick    *ownedTimer      // the next checkpointTick; stopped with checkpointing
	paths   map[int64]string // metadata written, not yet notified
	stopped bool             // no more checkpoints in this attempt
	closed  bool             // the job ended
	// stopID is the savepoint of a stop with savepoint, from its
	// trigger until the job ends (0 again if it fails); stopDone is set
	// once it completed, with its path in stopPath (the job is stopped
	// next). Either way periodic checkpoints are suspended, and the job's
	// own end waits (stopHeld).
	stopID   int64
	stopDone bool
	stopPath string
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
	// skipped: unnotified checkpoints found unreadable, never restored
	skipped map[string]bool
	// sizes holds what the acks of checkpoints being written said, for
	// their stats once they end
	sizes map[int64]checkpointSizes
	// travel says how the barriers of the pending checkpoints travel
	// (unaligned, deadline), for the triggers sent after the first
	travel map[int64]triggerMsg
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
	c := &checkpointer{m: m, store: store, paths: map[int64]string{}, unnotified: map[string]bool{}, sizes: map[int64]checkpointSizes{},
		travel:  map[int64]triggerMsg{},
		waiters: map[int64]chan<- savepointResult{}, stopped: true} // until the first attempt runs
	if bc.FirstID, err = c.firstID(); err != nil {
		return nil, err
	}
	if c.coord, err = barrier.NewCoordinator(bc); err != nil {
		return nil, err
	}
	return c, nil
}

// start (re)arms the periodic tick for a new attempt; the first starts the
// metadata writer, whose results come back as metadataReady messages.
func (c *checkpointer) start(ctx actor.Context) {
	if c.writer == nil {
		self, root := ctx.Self(), c.m.job.engine.sys.Root
		c.writer = newMetadataWriter(c.store, c.m.guard, c.m.log, func() { root.Send(self, &metadataReady{}) },
			&c.m.job.engine.writers, "job", c.m.graph.Name, "run", c.m.job.run)
	}
	c.stopped = false
	c.finalWanted, c.finalID, c.finalDone = false, 0, false
	c.run(ctx, c.coord.Reset(time.Now()))
	c.armTick(ctx)
}

func (c *checkpointer) armTick(ctx actor.Context) {
	c.tick.stop()
	period := max(min(c.m.cfg.Checkpoint.Interval/4, c.m.cfg.Checkpoint.Timeout/4), time.Millisecond)
	c.tick = sendAfter(c.m.job.engine.sys.Root, period, ctx.Self(), &checkpointTick{})
}

func (c *checkpointer) onTick(ctx actor.Context) {
	if c.m.state.goingDown() || c.stopped {
		return
	}
	// The final checkpoint goes before a periodic one: with a minimum
	// pause longer than the interval a periodic checkpoint is due at the
	// first tick after every pause, and would otherwise always win.
	c.tryFinal(ctx)
	c.run(ctx, c.coord.Tick(time.Now())) // suspended by a stop with savepoint, it only times out
	c.armTick(ctx)
}

// stop ends checkpointing for this attempt (the job is going down, or a
// subtask finished and can no longer take part): pending ones abort.
func (c *checkpointer) stop(ctx actor.Context) {
	c.tick.stop()
	c.stopped = true
	c.run(ctx, c.coord.Reset(time.Now()))
}

func (c *checkpointer) onAck(ctx actor.Context, a *checkpointAck) {
	if a.attempt != c.m.attempt || c.stopped {
		c.discardLate(a)
		return
	}
	var acts []barrier.Action
	var err error
	if a.err != nil {
		acts, err = c.coord.Decline(time.Now(), a.id, a.task, a.err)
	} else {
		acts, err = c.coord.Ack(time.Now(), a.id, a.task, taskHandle{path: a.handle, finished: a.finished, states: a.states,
			size: a.size, alignment: a.alignment, channels: a.channels, inflight: a.inflight, unaligned: a.unaligned})
	}
	if err != nil {
		c.m.log.Debug("checkpoint ack ignored", "checkpoint", a.id, "task", a.task, "err", err)
		if errors.Is(err, barrier.ErrCheckpointEnded) {
			c.discardLate(a)
		}
	}
	c.run(ctx, acts)
}

// discardLate discards the state of an ack that came after its checkpoint
// was aborted: the write ran after the abort's discard and would stay
// behind — its operators' state (handle) or its in-flight data
// (channels), which a subtask without operator state writes alone. As
// Flink's coordinator discards a late ack's state. (A checkpoint that
// completed has every ack; the store never discards a complete one
// anyway.) The writer's goroutine does it, never the master's.
func (c *checkpointer) discardLate(a *checkpointAck) {
	if (a.handle != "" || a.channels != "") && c.writer != nil {
		c.writer.discard(a.id)
	}
}

// onMetadataReady takes the outcomes of the metadata commits done; a
// restart that waited for them goes on.
func (c *checkpointer) onMetadataReady(ctx actor.Context) {
	if c.writer == nil {
		return
	}
	for _, w := range c.writer.results() {
		c.onMetadataWritten(ctx, w)
	}
	if !c.closed {
		c.m.redeploy(ctx)
	}
}

// committing reports whether a metadata commit is under way (its outcome
// not yet taken); false without checkpointing.
func (c *checkpointer) committing() bool {
	return c != nil && c.writer != nil && c.writer.busy()
}

func (c *checkpointer) onMetadataWritten(ctx actor.Context, w metadataWritten) {
	if w.err == nil {
		c.paths[w.id] = w.path
		c.unnotified[w.path] = true
	}
	acts, err := c.coord.MetadataWritten(time.Now(), w.id, w.err)
	if err != nil {
		delete(c.paths, w.id)
		c.m.log.Warn("metadata result ignored", "checkpoint", w.id, "err", err)
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
		case barrier.LateComplete:
			c.lateComplete(ctx, a)
		case barrier.Abort:
			c.abort(ctx, a)
			c.tryFinal(ctx)
		case barrier.FailJob:
			c.m.onJobFailure(ctx, a.Reason)
		}
	}
	c.m.job.setCheckpointsInProgress(len(c.coord.Pending()))
}

// record adds checkpoint id, which ended, to the job's history.
func (c *checkpointer) record(id int64, status CheckpointStatus, path string, reason error) {
	st, _ := c.coord.Stats(id)
	sz := c.sizes[id]
	delete(c.sizes, id)
	delete(c.travel, id)
	s := CheckpointStats{ID: id, Savepoint: st.Savepoint, Status: status, Triggered: st.Triggered, Duration: st.Duration,
		Size: sz.total, Alignment: sz.alignment, Path: path, Unaligned: sz.unaligned, InFlight: sz.inflight}
	if reason != nil {
		s.Failure = reason.Error()
	}
	c.m.job.recordCheckpoint(s, sz.byVertex)
}

// taskHandle is what a subtask's ack gives the coordinator.
type taskHandle struct {
	path      string
	finished  bool
	states    map[string]persistence.StateSummary
	size      int64         // bytes of state stored, in-flight data included
	alignment time.Duration // waiting for barriers
	channels  string        // the handle of its in-flight data; "": none
	inflight  int64         // the in-flight data's bytes of records
	unaligned bool          // it took the checkpoint unaligned
}

// trigger sends the trigger to the sources, which inject the barrier, to
// the subtasks that have finished, which no barrier can reach and which
// store their final state, and to the running subtasks whose senders have
// all finished, which no barrier will reach either (see
// subtask.onTrigger): so that, once the sources have finished, a
// checkpoint completes when every subtask has snapshotted, not when the
// whole tail has drained.
func (c *checkpointer) trigger(ctx actor.Context, t barrier.Trigger) {
	if b, ok := c.store.(checkpointBeginner); ok {
		b.Begin(t.ID) // before any node writes state for it
	}
	var to []*subtaskRef
	for _, ref := range c.m.refs {
		if ref.vertex.IsSource() || c.m.finished[ref.id] || c.m.sendersFinished(ref) {
			to = append(to, ref)
		}
	}
	tr := c.travelOf(t, time.Now())
	c.travel[t.ID] = tr
	c.sendTrigger(ctx, to, tr)
}

// travelOf decides how checkpoint t's barriers travel. Savepoints are
// always aligned, as in Flink: they restore at any parallelism. So is a
// checkpoint triggered while a savepoint is pending, whose barriers would
// otherwise overtake the savepoint's and cancel its alignment; the others
// are unaligned from the start, or, with an alignment timeout, aligned
// until their deadline.
func (c *checkpointer) travelOf(t barrier.Trigger, now time.Time) triggerMsg {
	tr := triggerMsg{id: t.ID, savepoint: t.Savepoint}
	cfg := c.m.cfg.Checkpoint
	switch {
	case !cfg.Unaligned || t.Savepoint || c.savepointPending(t.ID):
	case cfg.AlignmentTimeout == 0:
		tr.unaligned = true
	default:
		tr.deadline = now.Add(cfg.AlignmentTimeout).UnixNano()
	}
	return tr
}

// savepointPending reports whether a savepoint other than id is pending.
func (c *checkpointer) savepointPending(id int64) bool {
	for _, p := range c.coord.Pending() {
		if s, ok := c.coord.Stats(p); ok && p != id && s.Savepoint {
			return true
		}
	}
	return false
}

// oldestPending is the oldest checkpoint or savepoint still pending, id
// itself if none is older: a subtask drops the older ones it still waits
// to take (subtask.dropEnded).
func (c *checkpointer) oldestPending(id int64) int64 {
	oldest := id
	for _, p := range c.coord.Pending() {
		oldest = min(oldest, p)
	}
	return oldest
}

// sendTrigger sends trigger t to the subtasks to, through their agents.
func (c *checkpointer) sendTrigger(ctx actor.Context, to []*subtaskRef, t triggerMsg) {
	run, attempt, oldest := c.m.job.run, int32(c.m.attempt), c.oldestPending(t.id)
	c.m.sendPerAgent(ctx, to, func(ids []int32) any {
		return &wire.Trigger{Run: run, Attempt: attempt, Id: t.id, Savepoint: t.savepoint, Subtasks: ids,
			Unaligned: t.unaligned, Deadline: t.deadline, OldestPending: oldest}
	})
}

// writeMetadata makes the checkpoint durable on the metadata writer; the
// result comes back with a metadataReady message.
func (c *checkpointer) writeMetadata(_ actor.Context, w barrier.WriteMetadata) {
	meta := &persistence.Metadata{ID: w.ID, Savepoint: w.Savepoint, Job: c.m.graph.Name, Run: c.m.job.run,
		MaxParallelism: c.m.graph.MaxParallelism}
	sizes := checkpointSizes{byVertex: map[int]int64{}}
	for _, v := range c.m.graph.Vertices {
		for i := range v.Parallelism {
			h, _ := w.Handles[taskID(v, i)].(taskHandle)
			sizes.total += h.size
			sizes.byVertex[v.ID] += h.size
			sizes.alignment = max(sizes.alignment, h.alignment)
			sizes.inflight += h.inflight
			sizes.unaligned = sizes.unaligned || h.unaligned
			meta.Tasks = append(meta.Tasks, persistence.TaskState{Vertex: v.Name, Operators: v.Operators(),
				Subtask: i, Parallelism: v.Parallelism, Handle: h.path, Finished: h.finished, States: h.states,
				Channels: h.channels, InFlight: h.inflight})
		}
	}
	c.sizes[w.ID] = sizes
	c.writer.commit(meta)
}

// catchUp sends a subtask that just finished the triggers of the
// checkpoints still pending: it may have ended before their barriers
// could reach it (its inputs ended first), and it would never ack them.
// So does each subtask it sends to whose senders have now all finished:
// no barrier of those checkpoints will reach it. A subtask ignores a
// checkpoint it already took.
func (c *checkpointer) catchUp(ctx actor.Context, ref *subtaskRef) {
	targets := []*subtaskRef{ref}
	for _, to := range c.m.receivers(ref) {
		if !c.m.finished[to.id] && c.m.sendersFinished(to) {
			targets = append(targets, to)
		}
	}
	for _, id := range c.coord.Pending() {
		t, ok := c.travel[id]
		if !ok {
			s, _ := c.coord.Stats(id)
			t = triggerMsg{id: id, savepoint: s.Savepoint}
		}
		c.sendTrigger(ctx, targets, t)
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
	if !c.finalWanted || c.finalID != 0 || c.stopped || c.suspended() {
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
	path := c.paths[id]
	delete(c.paths, id)
	delete(c.unnotified, path)
	c.m.log.Info("checkpoint complete", "checkpoint", id, "path", path)
	c.m.job.setCheckpoint(Checkpoint{ID: id, Path: path})
	c.record(id, CheckpointCompleted, path, nil)
	if id == c.stopID {
		c.stopCompleted(ctx, id, path)
		return
	}
	c.notify(ctx, id, false)
	c.answer(id, savepointResult{path: path})
}

// notifyAborted tells every subtask of the attempt that checkpoint id
// was aborted (subtask.onAbort).
func (c *checkpointer) notifyAborted(ctx actor.Context, id int64) {
	for _, ag := range c.m.agents {
		ctx.Send(ag.pid, &wire.CheckpointAborted{Run: c.m.job.run, Attempt: int32(c.m.attempt), Id: id})
	}
}

// notify tells every subtask of the attempt that checkpoint id is
// complete; with confirm each answers once its operators committed.
func (c *checkpointer) notify(ctx actor.Context, id int64, confirm bool) {
	for _, ag := range c.m.agents {
		ctx.Send(ag.pid, &wire.Complete{Run: c.m.job.run, Attempt: int32(c.m.attempt), Id: id, Confirm: confirm})
	}
}

// stopCompleted: the savepoint of a stop with savepoint is complete. As
// in Flink, whose stop with savepoint is synchronous (the tasks finish
// only after the savepoint's notifyCheckpointComplete), the job is not
// stopped yet: every subtask is told, asked to confirm, and the master
// stops the job once all have committed up to the savepoint; its caller
// gets the path then.
func (c *checkpointer) stopCompleted(ctx actor.Context, id int64, path string) {
	c.stopDone, c.stopPath = true, path
	c.notify(ctx, id, true)
	c.m.stopCommit(ctx)
}

// lateComplete records a checkpoint that completed after a newer one (a
// savepoint): restorable, but no subtask is told, except for the
// savepoint of a stop with savepoint, which the stop commits.
func (c *checkpointer) lateComplete(ctx actor.Context, a barrier.LateComplete) {
	path := c.paths[a.ID]
	delete(c.paths, a.ID)
	c.m.log.Info("checkpoint complete after a newer one", "checkpoint", a.ID, "savepoint", a.Savepoint, "path", path)
	c.record(a.ID, CheckpointCompleted, path, nil)
	if a.ID == c.stopID {
		c.stopCompleted(ctx, a.ID, path)
		return
	}
	c.answer(a.ID, savepointResult{path: path})
}

func (c *checkpointer) abort(ctx actor.Context, a barrier.Abort) {
	if !errors.Is(a.Reason, barrier.ErrReset) {
		c.m.log.Warn("checkpoint aborted", "checkpoint", a.ID, "reason", a.Reason)
	}
	delete(c.paths, a.ID)
	c.record(a.ID, abortStatus(a.Reason), "", a.Reason)
	if !errors.Is(a.Reason, barrier.ErrReset) { // a reset's subtasks are going
		c.notifyAborted(ctx, a.ID)
	}
	if a.ID == c.finalID {
		c.finalID = 0 // try again at the next tick
	}
	if c.writer != nil {
		c.writer.discard(a.ID)
	}
	c.answer(a.ID, savepointResult{err: fmt.Errorf("%w: savepoint %d: %w", ErrSavepoint, a.ID, a.Reason)})
	if a.ID == c.stopID {
		// The stop with savepoint failed: the job runs on, checkpointing
		// again, as in Flink; if it finished meanwhile, its end goes on.
		c.stopID = 0
		c.coord.Resume(time.Now())
		c.m.log.Warn("stop with savepoint failed; the job goes on", "savepoint", a.ID, "reason", a.Reason)
		c.m.resumeEnd(ctx)
	}
}

// stopHeld reports whether a stop with savepoint is pending or done: the
// job's own end (final checkpoint, final commit) waits for its outcome.
func (c *checkpointer) stopHeld() bool { return c != nil && c.stopID != 0 }

// stopEnded reports whether the savepoint of a stop with savepoint
// completed: the job ends, it never restarts.
func (c *checkpointer) stopEnded() bool { return c.stopHeld() && c.stopDone }

// answerStop gives the caller of the completed stop with savepoint its
// path.
func (c *checkpointer) answerStop() {
	if c != nil && c.stopDone {
		c.answer(c.stopID, savepointResult{path: c.stopPath})
	}
}

// answer gives the caller of savepoint id, if any, its result.
func (c *checkpointer) answer(id int64, r savepointResult) {
	if w := c.waiters[id]; w != nil {
		w <- r
		delete(c.waiters, id)
	}
}

// suspended reports whether a stop with savepoint holds periodic
// checkpoints back.
func (c *checkpointer) suspended() bool { return c.coord.Suspended() }

// savepoint triggers a savepoint now; its path or failure goes to reply.
// With stop, periodic checkpoints are suspended first, so that none
// follows the savepoint (sinks would commit past it); they resume if it
// fails. Another savepoint is refused while a stop with savepoint is
// under way: completing after it, it would make sinks commit past it.
func (c *checkpointer) savepoint(ctx actor.Context, reply chan<- savepointResult, stop bool) {
	switch {
	case c.stopped || c.closed:
		reply <- savepointResult{err: fmt.Errorf("%w: the job is not running", ErrSavepoint)}
		return
	case c.stopID != 0:
		reply <- savepointResult{err: fmt.Errorf("%w: a stop with savepoint is under way", ErrSavepoint)}
		return
	case c.m.state == masterCommitting:
		reply <- savepointResult{err: fmt.Errorf("%w: the job has finished and is committing its output", ErrSavepoint)}
		return
	}
	t, err := c.coord.TriggerNow(time.Now(), true)
	if err != nil {
		reply <- savepointResult{err: fmt.Errorf("%w: %w", ErrSavepoint, err)}
		return
	}
	c.waiters[t.ID] = reply
	if stop {
		c.stopID = t.ID
		c.coord.Suspend()
	}
	c.trigger(ctx, t)
}

// close ends checkpointing when the job ends, without waiting for the
// store: the commits done complete (a savepoint's caller gets its path,
// durable metadata being a complete checkpoint), the other pending
// checkpoints abort (their callers get an error, their state is
// discarded). A commit still under way is left to the metadata writer,
// which finishes it and the calls queued after it — the discards of the
// aborted checkpoints among them, queued before it closes — then returns
// (Engine.Close waits for it, for a while); its savepoint's caller gets
// the commit's outcome from the writer when the store answers (see
// Job.Savepoint). Safe to call twice.
func (c *checkpointer) close(ctx actor.Context) {
	if c.closed {
		return
	}
	c.closed, c.stopped = true, true
	c.tick.stop()
	if c.writer != nil {
		c.onMetadataReady(ctx)
	}
	c.run(ctx, c.coord.Reset(time.Now()))
	if c.writer != nil {
		c.writer.close()
	}
	c.answerStop() // complete: the job ended before every subtask confirmed its commit
	for id, reply := range c.waiters {
		if s, ok := c.coord.Stats(id); ok && s.Status == barrier.StatusWriting && c.writer != nil {
			c.writer.answerLater(id, reply)
			delete(c.waiters, id)
			continue
		}
		c.answer(id, savepointResult{err: fmt.Errorf("%w: savepoint %d: the job ended", ErrSavepoint, id)})
	}
}
