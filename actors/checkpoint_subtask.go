package actors

import (
	"context"
	"fmt"
	"slices"
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
	if !s.state.active() {
		return
	}
	if s.aligner != nil && s.state != stFinished {
		// expect keeps no oldestPending (the aligner takes it as a
		// barrier): what it names as ended is dropped here.
		s.dropEnded(m.oldestPending)
		// Aligned: no barrier of it will come (see expect), so none can
		// overtake anything.
		m.unaligned, m.deadline = false, 0
		s.expect(*m)
		return
	}
	s.checkpoint(*m)
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
	s.noteBarrier(m.barrier())
	s.alignFrom(m.id)
	s.applyAlignment(s.aligner.Expect(m.id), nil)
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

// onBarrier handles checkpoint barrier b, consumed from input channel ch
// after the batches before it.
func (s *subtask) onBarrier(ch int, b operators.Barrier) {
	if s.abortedBarrier(b.ID) {
		return
	}
	s.noteBarrier(b)
	s.alignFrom(b.ID)
	s.applyAlignment(s.aligner.OnBarrier(ch, b.ID), nil)
}

// noteBarrier keeps how checkpoint b.ID's barriers travel (savepoint,
// unaligned, deadline), from the first of them, for its snapshot.
func (s *subtask) noteBarrier(b operators.Barrier) {
	if _, ok := s.barriers[b.ID]; !ok {
		s.barriers[b.ID] = triggerOf(b)
	}
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

// applyAlignment carries out an aligner's result. first, for a priority
// barrier, is what it overtook on its own input: channel state if it
// starts an unaligned snapshot.
func (s *subtask) applyAlignment(r barrier.Result, first *overtaken) {
	if r.Cancelled != 0 {
		// Overtaken by a newer checkpoint: decline it, which is no failure.
		s.decline(r.Cancelled, fmt.Errorf("%w: overtaken by a newer checkpoint's barrier", barrier.ErrSubsumed))
		if s.rec != nil && s.rec.id == r.Cancelled {
			s.dropRecorder(nil)
		}
	}
	for _, ch := range r.Block {
		s.in.SetBlocked(ch, true)
	}
	persisted := r.Persisted
	if r.Snapshot != 0 {
		t, ok := s.barriers[r.Snapshot]
		if !ok {
			t = triggerMsg{id: r.Snapshot}
		}
		clear(s.barriers)
		if r.Unaligned {
			t.unaligned = true
			persisted = max(persisted, s.startRecording(r.Snapshot, r.Record, first))
		}
		s.checkpoint(t)
	}
	for _, ch := range r.Unblock {
		s.in.SetBlocked(ch, false)
	}
	if persisted != 0 {
		s.inputPersisted(persisted)
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
func (s *subtask) checkpoint(t triggerMsg) {
	if t.id <= s.lastCheckpoint || s.isPreparing(t.id) {
		return
	}
	s.dropEnded(t.oldestPending)
	if s.state.endedInput() && !s.chain.Ended() {
		s.ending = append(s.ending, t)
		return
	}
	if !s.prepare(t) || len(s.preparing) > 0 {
		s.preparing = append(s.preparing, t)
		s.watchHeldSource(t)
		return
	}
	s.takeCheckpoint(t)
}

// dropEnded drops the checkpoints older than oldest that wait to be
// taken (for an operator's state, or for the operators to end) or, at a
// subtask whose senders have all finished, to be aligned (for the end of
// its input, expect): the master no longer waits for them, and as this
// subtask has not acknowledged them none completed, so they were aborted
// (timed out, or failed at another subtask). Taking one later would only
// snapshot every operator downstream for nothing, and a source held back
// for long would keep one more each checkpoint interval. The master's
// notice of each abort (onAbort) says it to every subtask; the trigger
// says it again to those that take triggers, for an abort whose notice
// has not come yet. The operators asked to prepare a dropped one are
// told (Chain.AbortSnapshot): an actor operator holds everything after a
// checkpoint's state until it is taken, and would hold it for ever.
func (s *subtask) dropEnded(oldest int64) {
	s.dropWaiting(func(t triggerMsg) bool { return t.id < oldest })
}

// dropWaiting drops the checkpoints that wait to be taken (see dropEnded)
// for which ended holds, and tells the operators asked to prepare them.
func (s *subtask) dropWaiting(ended func(triggerMsg) bool) {
	for _, t := range s.preparing {
		if ended(t) {
			s.chain.AbortSnapshot(t.id)
		}
	}
	s.preparing = slices.DeleteFunc(s.preparing, ended)
	s.ending = slices.DeleteFunc(s.ending, ended)
	s.expected = slices.DeleteFunc(s.expected, ended)
}

// onAbort forgets checkpoint id, which the master aborted (Flink's
// notifyCheckpointAborted), wherever this subtask still keeps it: a
// trigger waiting to be taken (dropWaiting); its alignment or the
// recording of its channel state, given up at once, so that the
// channels it blocked take input again; its barriers still to come,
// dropped as they come (abortedBarrier) rather than snapshotted and
// passed on; and its state write. Only id is given up: an older
// checkpoint whose barriers have not come yet may still be pending (a
// savepoint), so the aligner is not told of id before its barriers
// came — it would take theirs as stale.
func (s *subtask) onAbort(id int64) {
	if !s.state.active() {
		return
	}
	s.dropWaiting(func(t triggerMsg) bool { return t.id == id })
	if s.aligner != nil {
		switch {
		case s.aligner.Aligning() == id || s.aligner.Persisting() == id:
			r := s.aligner.Cancel(id)
			for _, ch := range r.Unblock {
				s.in.SetBlocked(ch, false)
			}
			delete(s.barriers, id)
		case id > s.lastCheckpoint && !slices.Contains(s.aborted, id):
			// Bounded: a barrier of one forgotten is taken, for nothing
			// but no harm (its ack is ignored).
			s.aborted = append(s.aborted[max(len(s.aborted)-maxAbortedKept+1, 0):], id)
		}
	}
	// Its channel state being recorded, or its snapshot held until its
	// barrier leaves an output waiting for credit (watchOutputs, at a
	// source too): given up, not written.
	if s.rec != nil && s.rec.id == id {
		s.dropRecorder(nil)
	}
	if s.alignFor == id {
		s.alignFor = 0 // its alignment timer: nothing left to switch
	}
	s.uploads.abort(id)
}

// maxAbortedKept bounds how many aborted checkpoints a subtask keeps
// whose barriers have not come.
const maxAbortedKept = 64

// abortedBarrier reports whether a barrier of checkpoint id is of one
// the master aborted before it came (onAbort): it is dropped.
func (s *subtask) abortedBarrier(id int64) bool {
	return slices.Contains(s.aborted, id)
}

// watchHeldSource arms the alignment timer for aligned checkpoint t with
// a deadline that waits at a source for the rest of a poll its chain
// holds: that needs credit, which backpressure may keep from it for as
// long as the backlog downstream takes. At the deadline (onAlignTimeout)
// it is taken unaligned, as Flink's aligned checkpoint timeout counts
// from the trigger at the source as well (unalignPreparing).
func (s *subtask) watchHeldSource(t triggerMsg) {
	if s.aligner == nil && t.deadline != 0 && !t.unaligned && !t.savepoint && s.store != nil && s.chain.Pending() {
		s.armAlignTimeout(t.id, t.deadline)
	}
}

// prepare asks the chain whether checkpoint t can be taken now. An
// unaligned one does not wait for what a source holds of its poll: it is
// stored as the source's in-flight data (takeCheckpoint).
func (s *subtask) prepare(t triggerMsg) bool {
	if t.unaligned {
		return s.chain.PrepareUnalignedSnapshot(t.id)
	}
	return s.chain.PrepareSnapshot(t.id)
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
	for len(s.preparing) > 0 && s.state.active() {
		t := s.preparing[0]
		if !s.prepare(t) {
			return
		}
		s.preparing = s.preparing[1:]
		s.takeCheckpoint(t)
	}
}

// takeCheckpoint snapshots the chain for checkpoint t, forwards the
// barrier and stores the state — at once, or with its channel state once
// that is complete.
func (s *subtask) takeCheckpoint(t triggerMsg) {
	id := t.id
	s.lastCheckpoint = id
	s.aborted = slices.DeleteFunc(s.aborted, func(a int64) bool { return a <= id })
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
	if t.unaligned && s.chain.Pending() {
		if s.recordHeldSource(id); !s.state.active() {
			return
		}
	}
	if !s.state.eoiQueued() {
		s.forwardBarrier(t.barrier())
	}
	if s.store == nil {
		s.dropRecorder(nil)
		return // a barrier without checkpointing (a test's source probe): passed on, nothing stored
	}
	h := heldSnapshot{savepoint: t.savepoint, finished: s.state.endedInput() && s.chain.Ended(), enc: enc, states: states,
		alignment: s.alignment(id)}
	enc = nil
	if rec := s.rec; rec != nil && rec.id == id {
		rec.held = &h
		s.finishRecording()
		return
	}
	s.storeState(id, h, nil)
}

// storeState writes snapshot h (h.enc nil: no operator state) and the
// channel state rec recorded (nil: none), and acks; it owns h.enc. The
// write runs on a goroutine that the engine owns (see uploads), which
// ends with the ack; processing goes on.
func (s *subtask) storeState(id int64, h heldSnapshot, rec *channelRecorder) {
	ack := &checkpointAck{attempt: s.attempt, id: id, task: taskID(s.vertex, s.index), finished: h.finished,
		states: h.states, alignment: h.alignment}
	var channels *persistence.ChannelState
	if rec != nil {
		ack.unaligned = rec.unaligned
		if !rec.state.Empty() {
			channels = &rec.state
		}
	}
	agent, root := s.ctx.Parent(), s.root
	if h.enc == nil && channels == nil {
		root.Send(agent, ack)
		return
	}
	store, enc, log := s.store, h.enc, s.log
	started := s.uploads.start(id, h.savepoint, s.cfg.Checkpoint.Timeout, func(ctx context.Context, release func()) {
		if enc != nil {
			ack.handle, ack.size, ack.err = writeState(ctx, store, id, string(ack.task), releasing{enc, release})
		}
		if ack.err == nil && channels != nil {
			var n int64
			ack.channels, n, ack.err = writeChannels(ctx, store, id, string(ack.task), channels)
			ack.size += n
			ack.inflight = channels.BatchBytes()
		}
		if stoppedBy(ctx) {
			discardUnacked(store, log, id, ack.handle, ack.channels)
			return
		}
		root.Send(agent, ack)
	})
	if !started && enc != nil {
		_ = enc.Close() // the subtask is stopping
	}
}

// takeEnding takes the checkpoints that waited for the operators to end,
// before the end of input goes downstream: their barriers go first.
func (s *subtask) takeEnding() {
	ending := s.ending
	s.ending = nil // checkpoint may drop from it (dropEnded)
	for _, t := range ending {
		s.checkpoint(t)
	}
}

// onComplete tells the operators that checkpoint m.id is complete. The
// final completion of a finished job, and a completion to confirm (a stop
// with savepoint's), is answered (to the agent, which relays it), so that
// the master knows the output is committed before it ends the job.
func (s *subtask) onComplete(m *completeMsg) {
	s.uploads.subsume(m.id)
	if s.rec != nil && s.rec.id < m.id {
		s.dropRecorder(nil) // subsumed: the master gave it up
	}
	if !s.state.active() {
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
