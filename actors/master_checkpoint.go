package actors

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/actors/wire"
	"github.com/troupe-dev/troupe/operators"
)

// startCheckpointing sets up the checkpoint coordinator when the job has
// checkpointing on.
func (m *master) startCheckpointing() error {
	if !m.cfg.Checkpoint.enabled() && m.restoreFrom == "" {
		return nil
	}
	c, err := newCheckpointer(m)
	if err != nil {
		return err
	}
	m.ckpt = c
	return nil
}

func (m *master) onCheckpointMsg(ctx actor.Context, msg any) {
	if m.ckpt == nil {
		if sp, ok := msg.(*savepointMsg); ok {
			sp.reply <- savepointResult{err: fmt.Errorf("%w: the job takes no checkpoints", ErrSavepoint)}
		}
		return
	}
	switch msg := msg.(type) {
	case *checkpointTick:
		m.ckpt.onTick(ctx)
	case *checkpointAck:
		m.ckpt.onAck(ctx, msg)
	case *metadataReady:
		m.ckpt.onMetadataReady(ctx)
	case *savepointMsg:
		m.ckpt.savepoint(ctx, msg.reply, msg.stop)
	}
}

// onFinished counts a subtask that finished; it still takes part in
// checkpoints with its final state. When all have finished, a final
// checkpoint records the finished job (with checkpoints on), then every
// subtask is told to commit what it still holds (a final completion,
// operators.EndOfJob), and the job ends once every one has confirmed. A
// job resumed from that checkpoint — after a crash between the final
// commit and the process's exit — finds every operator ended and emits
// nothing again.
//
// While a stop with savepoint is under way the job's end waits for the
// savepoint's outcome (see finishAfterStop).
func (m *master) onFinished(ctx actor.Context, id int) {
	m.finished[id] = true
	if m.ckpt != nil {
		m.ckpt.catchUp(ctx, m.refs[id])
	}
	if m.running--; m.running > 0 {
		return
	}
	m.finish(ctx)
}

// finish ends a job whose subtasks have all finished: the final
// checkpoint, then the final commit.
func (m *master) finish(ctx actor.Context) {
	switch {
	case m.ckpt == nil:
		m.finalCommit(ctx)
	case m.ckpt.stopHeld():
		// The sources ran on past the stop's savepoint and finished: the
		// final commit would commit their output past the savepoint, and
		// a resume from it would commit that output again. The job's end
		// waits for the savepoint: complete, it stops the job, committing
		// up to it only (stopCommit); failed, the end goes on (resumeEnd).
		// So a stop with savepoint commits exactly what precedes its
		// savepoint, as Flink's, whose sources stop at its barrier.
	case m.ckpt.finalDone:
		m.afterFinalCheckpoint(ctx)
	default:
		m.ckpt.requestFinal(ctx) // afterFinalCheckpoint goes on
	}
}

// afterFinalCheckpoint is called when the final checkpoint completes.
func (m *master) afterFinalCheckpoint(ctx actor.Context) {
	if m.state == masterRunning && !m.ckpt.stopHeld() {
		m.finalCommit(ctx)
	}
}

// resumeEnd goes on with the end of a job that finished while a stop
// with savepoint was under way, once that savepoint failed.
func (m *master) resumeEnd(ctx actor.Context) {
	if m.state == masterRunning && m.running == 0 && !m.ckpt.stopped {
		m.finish(ctx)
	}
}

// stopCommit: the savepoint of a stop with savepoint is complete and every
// subtask was asked to commit up to it and confirm (finalCommitted); the
// master stops the job once all have. If the attempt is already going
// down (a failure while the savepoint's commit ran), the job ends stopped
// at once: the savepoint is complete, and a run restored from it commits
// its sinks' pending output.
func (m *master) stopCommit(ctx actor.Context) {
	switch m.state {
	case masterRunning:
		m.committing = len(m.refs)
		m.to(ctx, evCommit)
	case masterCommitting:
		m.committing = len(m.refs) // count anew: the commit asked for now
	default:
		m.endStopped(ctx)
	}
}

// endStopped ends the job of a completed stop with savepoint: its caller
// gets the savepoint's path, every agent is stopped, and the job ends
// cancelled (no restart, whatever failed meanwhile).
func (m *master) endStopped(ctx actor.Context) {
	m.ckpt.answerStop()
	end := jobEnd{JobCancelled, ErrCancelled}
	if m.state.live() {
		m.stopAll(ctx, end)
		return
	}
	if m.state == masterEnded {
		return // the savepoint's commit was taken as the job ended
	}
	// In place of a restart. The agents may all be gone already: the job
	// ends from a message of its own, not inside the checkpointer's
	// handling of the commit's outcome.
	m.end = end
	m.to(ctx, evStop)
	ctx.Send(ctx.Self(), &afterStopMsg{})
}

// afterStopMsg ends a stopping job if every agent is gone (afterStop).
type afterStopMsg struct{}

func (m *master) finalCommit(ctx actor.Context) {
	m.committing = len(m.refs)
	if !m.to(ctx, evCommit) {
		return
	}
	for _, ag := range m.agents {
		ctx.Send(ag.pid, &wire.Complete{Run: m.job.run, Attempt: int32(m.attempt), Id: operators.EndOfJob})
	}
}

// onFinalCommit counts the confirmations of the final commit, one per
// subtask; err is the subtask's failure to commit.
func (m *master) onFinalCommit(ctx actor.Context, ref *subtaskRef, err error) {
	if m.state != masterCommitting {
		return // a late confirmation: the attempt is going down
	}
	if err != nil && m.finalErr == nil {
		m.finalErr = m.subtaskError(ref, err)
	}
	if m.committing--; m.committing > 0 {
		return
	}
	if m.ckpt.stopHeld() {
		if m.finalErr != nil {
			m.log.Warn("a subtask failed to commit up to the stop's savepoint; a run restored from it commits that output",
				"err", m.finalErr)
		}
		m.endStopped(ctx)
		return
	}
	if m.finalErr != nil {
		m.job.addException(m.attempt, m.finalErr)
		m.stopAll(ctx, jobEnd{JobFailed, m.finalErr})
		return
	}
	m.stopAll(ctx, jobEnd{JobFinished, nil})
}

// restorePlan says what state the next attempt starts from: on a restart,
// or in the first attempt of a continued run, the run's latest complete
// checkpoint (planRestore); else (none yet) the checkpoint the job was
// submitted with; else none.
func (m *master) restorePlan() (*restorePlan, error) {
	if m.ckpt == nil {
		return nil, nil
	}
	if m.attempt > m.firstAttempt || m.continued {
		plan, err := m.ckpt.planRestore()
		if plan != nil || err != nil {
			return plan, err
		}
	}
	if m.restoreFrom == "" {
		return nil, nil
	}
	return m.ckpt.loadExternal(m.restoreFrom)
}

// taskOf returns what subtask i of v restores; nil for a fresh start.
func (p *restorePlan) taskOf(v *operators.Vertex, i int) *taskRestore {
	if p == nil {
		return nil
	}
	return p.tasks[taskID(v, i)]
}

// finishedOnRestore reports whether v's subtasks had all finished at the
// checkpoint the attempt restores.
func (p *restorePlan) finishedOnRestore(v *operators.Vertex) bool {
	return p != nil && p.finished[v.Name]
}

// sendersFinished reports whether ref has inputs and every subtask
// sending to it has finished: then no barrier can reach it any more.
func (m *master) sendersFinished(ref *subtaskRef) bool {
	chans := ref.vertex.InputChannels(ref.index)
	for _, ch := range chans {
		if from := m.refAt(ch.Edge.From, ch.Remote); from == nil || !m.finished[from.id] {
			return false
		}
	}
	return len(chans) > 0
}

// receivers returns the subtasks ref sends to.
func (m *master) receivers(ref *subtaskRef) []*subtaskRef {
	var out []*subtaskRef
	for _, ch := range ref.vertex.OutputChannels(ref.index) {
		if to := m.refAt(ch.Edge.To, ch.Remote); to != nil {
			out = append(out, to)
		}
	}
	return out
}

// refAt returns subtask i of v in the current attempt.
func (m *master) refAt(v *operators.Vertex, i int) *subtaskRef {
	if refs := m.grid[v]; i < len(refs) {
		return refs[i]
	}
	return nil
}

// sendPerAgent sends, to the agent of each subtask in refs, one message
// that msg makes from the ids of its subtasks among them.
func (m *master) sendPerAgent(ctx actor.Context, refs []*subtaskRef, msg func(ids []int32) any) {
	ids := map[*agentRef][]int32{}
	for _, ref := range refs {
		ids[ref.agent] = append(ids[ref.agent], int32(ref.id))
	}
	for _, ag := range m.agents {
		if len(ids[ag]) > 0 {
			ctx.Send(ag.pid, msg(ids[ag]))
		}
	}
}
