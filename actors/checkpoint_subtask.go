package actors

import (
	"context"
	"fmt"
	"time"

	"github.com/troupe-dev/troupe/barrier"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// The subtask's side of checkpoints: sources snapshot on a trigger from
// the master; other subtasks align barriers across their inputs, blocking
// each input that delivered the barrier (it gets no credit meanwhile),
// and snapshot once it came on all. Either way the subtask does in line
// only what a consistent snapshot needs — heap state is copied and
// encoded, a bbolt backend flushes its cache and opens a read
// transaction — then the barrier goes downstream, and the state is
// written to the store on a goroutine of its own (uploads), which streams
// the bbolt state from its read transaction and acks to the master
// (through the subtask's agent, its parent).

// onTrigger starts checkpoint id at a source. A subtask that has
// finished takes it too, without a barrier to pass on (its channels have
// ended): it stores its final state, so that checkpoints complete while
// the rest of the job runs on, and so that the job's final checkpoint,
// taken once every subtask has finished, holds everything.
//
// A running subtask is triggered when every sender of its inputs has
// finished (as Flink triggers the tasks that no running task precedes):
// no barrier of that checkpoint will come, only the rest of its input
// and the end of input (see expect).
func (s *subtask) onTrigger(m *triggerMsg) {
	if s.chain == nil || s.failed {
		return
	}
	if s.aligner != nil && !s.finished {
		s.expect(*m)
		return
	}
	s.checkpoint(m.id, m.savepoint)
}

// expect takes the trigger of a running subtask whose senders have all
// finished once it has consumed all their input: when its last input
// channel ends, before its own end of input, so that the barrier goes
// downstream ahead of what that end emits and the checkpoint does not
// wait for the tail downstream. Until then the triggers wait, in order.
//
// Their senders finished, but what they sent may still wait in this
// subtask's input (an operator at capacity holds it back), barriers of
// older checkpoints among it: aligning the trigger at once, as if its
// barrier came first, would cancel (subsume) those, a savepoint among
// them — and a savepoint is never subsumed by a checkpoint. Waiting for
// the end of input is Flink's rule: it triggers a task whose
// predecessors have finished only once the task has consumed all their
// data (FLIP-147), so that no barrier can be queued behind the trigger.
func (s *subtask) expect(m triggerMsg) {
	if s.endedCount < len(s.ended) {
		s.expected = append(s.expected, m)
		return
	}
	if m.savepoint {
		s.savepoints[m.id] = true
	}
	s.alignFrom(m.id)
	s.applyAlignment(s.aligner.Expect(m.id))
}

// takeExpected takes the triggers that waited for every input channel to
// end (expect), oldest first; those already taken at their barrier are
// ignored.
func (s *subtask) takeExpected() {
	waiting := s.expected
	s.expected = nil
	for _, m := range waiting {
		s.expect(m)
	}
}

// onBarrier handles checkpoint barrier b from input channel ch.
func (s *subtask) onBarrier(ch int, b operators.Barrier) {
	if b.Savepoint {
		s.savepoints[b.ID] = true
	}
	s.alignFrom(b.ID)
	s.applyAlignment(s.aligner.OnBarrier(ch, b.ID))
}

// alignFrom notes when the alignment of checkpoint id began: at its first
// barrier (or trigger), for its ack's alignment time.
func (s *subtask) alignFrom(id int64) {
	if id > s.alignID {
		s.alignID, s.alignStart = id, time.Now()
	}
}

// alignment returns how long checkpoint id waited for its barriers.
func (s *subtask) alignment(id int64) time.Duration {
	if s.alignID != id {
		return 0 // a source's, or a finished subtask's: nothing to align
	}
	return time.Since(s.alignStart)
}

func (s *subtask) applyAlignment(r barrier.Result) {
	if r.Cancelled != 0 && s.store != nil {
		// Overtaken by a newer checkpoint: decline it, which is no failure.
		s.root.Send(s.ctx.Parent(), &checkpointAck{attempt: s.attempt, id: r.Cancelled,
			task: taskID(s.vertex, s.index), err: fmt.Errorf("%w: overtaken by checkpoint %d", barrier.ErrSubsumed, s.aligner.Aligning())})
	}
	for _, ch := range r.Block {
		s.in.SetBlocked(ch, true)
	}
	if r.Snapshot != 0 {
		sp := s.savepoints[r.Snapshot]
		clear(s.savepoints)
		s.checkpoint(r.Snapshot, sp)
	}
	for _, ch := range r.Unblock {
		s.in.SetBlocked(ch, false)
	}
}

// checkpoint snapshots the chain, forwards the barrier and stores the
// state asynchronously. A checkpoint is taken once: a finished subtask may
// be sent the trigger of one it already took at its barrier.
//
// While its operators are ending (end of input called, work still in
// flight) the snapshot waits until they have ended (takeEnding): a
// snapshot of half-ended operators would be restored as not ended and
// ended a second time.
//
// An operator whose state has to be fetched (a user's actor holding its
// own, operators.SnapshotPreparer) may not be ready: the checkpoint then
// waits in s.preparing, the operator blocks the input meanwhile, and it
// is taken as soon as the operator's reply has made it ready
// (takePrepared), before any more input is consumed.
func (s *subtask) checkpoint(id int64, savepoint bool) {
	if id <= s.lastCheckpoint || s.isPreparing(id) {
		return
	}
	if s.inputEnded && !s.chain.Ended() {
		s.ending = append(s.ending, triggerMsg{id: id, savepoint: savepoint})
		return
	}
	if !s.chain.PrepareSnapshot(id) || len(s.preparing) > 0 {
		s.preparing = append(s.preparing, triggerMsg{id: id, savepoint: savepoint})
		return
	}
	s.takeCheckpoint(id, savepoint)
}

// isPreparing reports whether checkpoint id waits for an operator's state.
func (s *subtask) isPreparing(id int64) bool {
	for _, t := range s.preparing {
		if t.id == id {
			return true
		}
	}
	return false
}

// takePrepared takes, in order, the checkpoints whose operators' state
// has come; the runtime calls it after each message the chain handles.
func (s *subtask) takePrepared() {
	for len(s.preparing) > 0 && !s.failed {
		t := s.preparing[0]
		if !s.chain.PrepareSnapshot(t.id) {
			return
		}
		s.preparing = s.preparing[1:]
		s.takeCheckpoint(t.id, t.savepoint)
	}
}

// takeCheckpoint snapshots the chain for checkpoint id, forwards the
// barrier and stores the state.
func (s *subtask) takeCheckpoint(id int64, savepoint bool) {
	s.lastCheckpoint = id
	st, err := s.chain.Snapshot(id)
	if err != nil {
		s.fail(err)
		return
	}
	var enc *operators.EncodedState
	var states map[string]persistence.StateSummary
	if len(st) > 0 {
		states = st.Summary()
		if enc, err = st.Encode(); err != nil {
			_ = st.Close() // given up: read transactions, nothing to lose
			s.fail(fmt.Errorf("checkpoint %d: %w", id, err))
			return
		}
	}
	defer func() {
		if enc != nil { // not handed to storeState: an operator panicked, or nothing is stored
			_ = enc.Close()
		}
	}()
	if !s.eoiSent {
		s.chain.Emit(operators.Barrier{ID: id, Savepoint: savepoint})
	}
	if s.store == nil {
		return // a barrier without checkpointing (a test's source probe): passed on, nothing stored
	}
	s.storeState(id, savepoint, enc, states, s.alignment(id))
	enc = nil
}

// storeState writes enc (nil: nothing to store), which states
// summarises, and acks; it owns enc. The write runs on a goroutine that
// s.uploads owns, which ends with the ack; processing goes on.
// alignment is how long the checkpoint waited for its barriers.
func (s *subtask) storeState(id int64, savepoint bool, enc *operators.EncodedState, states map[string]persistence.StateSummary,
	alignment time.Duration) {
	ack := &checkpointAck{attempt: s.attempt, id: id, task: taskID(s.vertex, s.index), finished: s.inputEnded && s.chain.Ended(),
		states: states, alignment: alignment}
	agent, root := s.ctx.Parent(), s.root
	if enc == nil {
		root.Send(agent, ack)
		return
	}
	store := s.store
	started := s.uploads.start(id, savepoint, s.cfg.Checkpoint.Timeout, func(ctx context.Context) {
		ack.handle, ack.size, ack.err = writeState(ctx, store, id, string(ack.task), enc)
		if !stoppedBy(ctx) {
			root.Send(agent, ack)
		}
	})
	if !started {
		_ = enc.Close() // the subtask is stopping
	}
}

// takeEnding takes the checkpoints that waited for the operators to end,
// before the end of input goes downstream: their barriers go first.
func (s *subtask) takeEnding() {
	for _, t := range s.ending {
		s.checkpoint(t.id, t.savepoint)
	}
	s.ending = nil
}

// onComplete tells the operators that checkpoint m.id is complete. The
// final completion of a finished job, and a completion to confirm (a stop
// with savepoint's), is answered (to the agent, which relays it), so that
// the master knows the output is committed before it ends the job.
func (s *subtask) onComplete(m *completeMsg) {
	s.uploads.subsume(m.id)
	if s.chain == nil || s.failed {
		return
	}
	err := s.chain.NotifyCheckpointComplete(m.id)
	if m.id == operators.EndOfJob || m.confirm {
		s.ctx.Send(s.ctx.Parent(), &finalCommitted{id: s.id, err: err}) // the master names the subtask
		return
	}
	if err != nil {
		s.fail(err)
	}
}
