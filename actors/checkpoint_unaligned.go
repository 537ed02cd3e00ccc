package actors

import (
	"fmt"
	"time"

	"github.com/troupe-dev/troupe/barrier"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// Unaligned checkpoints on the subtask's side (Flink's FLIP-76).
//
// A barrier of an unaligned checkpoint (operators.Barrier.Unaligned) is a
// priority message: its sender sends it ahead of the batches waiting for
// credit on the channel, and the receiver handles it as it arrives,
// never queued (arrive). The first barrier of a checkpoint, on any input,
// makes the subtask snapshot at once (the aligner's Result.Unaligned):
//
//   - input channel state: the batches queued on that input ahead of the
//     barrier, the batches queued on every input whose barrier has not
//     come, and every batch that arrives on those inputs until their
//     barrier does (the aligner's Recording);
//   - output channel state: the batches waiting for credit on each output,
//     which the forwarded barrier overtakes (overtakeOutputs).
//
// Nothing is blocked: the recorded batches are processed as usual after
// the snapshot, and their output goes downstream after the barrier. Once
// every input has delivered the barrier (or ended) the channel state is
// complete and written with the snapshot (finishRecording). A restore
// queues the input channel state ahead of anything that arrives
// (mailbox.InputGate.PushRecovered) and sends the output channel state
// before anything the subtask produces (sendRecovered).
//
// With an alignment timeout the checkpoint starts aligned and its
// barriers carry a deadline (trigger time + timeout): at the deadline a
// subtask still aligning it switches to unaligned (SwitchToUnaligned),
// a barrier of it still queued at an input is taken out ahead of the data
// before it, one that arrives later is handled as a priority barrier,
// and a barrier still waiting for credit on an output is taken out and
// sent ahead of the batches before it, which become output channel state
// of the (aligned) snapshot the subtask already took (overtakeWaiting).

// channelRecorder is the channel state of one checkpoint being taken and
// the snapshot that waits for it: an unaligned checkpoint's in-flight
// data, or an aligned one whose barriers still wait for credit on some
// outputs and may yet overtake what is ahead of them.
type channelRecorder struct {
	id        int64
	state     persistence.ChannelState
	unaligned bool // a barrier of it overtook data at this subtask
	inputDone bool // every input delivered the barrier or ended (or there is none)
	waitOut   []bool
	waiting   int           // outputs whose aligned barrier still waits for credit
	held      *heldSnapshot // the snapshot, once taken
}

// heldSnapshot is a snapshot taken, to store once its channel state is
// complete.
type heldSnapshot struct {
	savepoint bool
	finished  bool // the operators had ended when it was taken
	enc       *operators.EncodedState
	states    map[string]persistence.StateSummary
	alignment time.Duration
}

// complete reports whether the snapshot and all its channel state are in.
func (r *channelRecorder) complete() bool { return r.held != nil && r.inputDone && r.waiting == 0 }

// overtaken says which of an input's queued batches a priority barrier
// overtook: the first n (and the rest of a batch consumed in part).
type overtaken struct{ ch, n int }

// arrive takes a message from input channel ch, sent by a local peer or
// decoded from a remote one. A priority barrier — unaligned, or aligned
// and past its deadline — is handled at once and its credit returned;
// anything else is queued and, while ch records channel state, recorded.
func (s *subtask) arrive(ch int, m *batchMsg) error {
	if b, ok := m.ev.(operators.Barrier); ok && (b.Unaligned || overdue(b)) {
		s.credit(ch)
		s.onPriorityBarrier(ch, b, s.in.Len(ch))
		return nil
	}
	if err := s.in.Push(ch, m); err != nil {
		return fmt.Errorf("input channel %d: %w", ch, err)
	}
	if s.rec != nil && s.aligner.Recording(ch) == s.rec.id {
		s.recordInput(ch, m)
		if m.eoi {
			if id := s.endRecording(ch, s.rec.id); id != 0 {
				s.inputPersisted(id)
			}
		}
	}
	if b, ok := m.ev.(operators.Barrier); ok && b.Deadline != 0 && !b.Savepoint {
		s.armAlignTimeout(b.ID, b.Deadline)
	}
	return nil
}

// overdue reports whether b is an aligned barrier whose checkpoint has
// turned unaligned: its deadline has passed.
func overdue(b operators.Barrier) bool {
	return b.Deadline != 0 && !b.Savepoint && time.Now().UnixNano() >= b.Deadline
}

// onPriorityBarrier handles barrier b, which overtook the first ahead
// batches queued on input ch.
func (s *subtask) onPriorityBarrier(ch int, b operators.Barrier, ahead int) {
	if s.abortedBarrier(b.ID) {
		return
	}
	s.noteBarrier(b)
	s.alignFrom(b.ID)
	s.applyAlignment(s.aligner.OnPriorityBarrier(ch, b.ID), &overtaken{ch: ch, n: ahead})
}

// startRecording starts the input channel state of checkpoint id, which
// is being snapshotted unaligned: the batches first overtook, and those
// queued on the inputs in record. An input whose barrier of id is
// queued already records what is ahead of it, and the barrier is taken
// out and delivered at once. It returns id if that completed the input
// channel state.
func (s *subtask) startRecording(id int64, record []int, first *overtaken) int64 {
	rec := s.recorderFor(id)
	rec.unaligned = true
	s.recordMarks()
	if first != nil {
		s.recordQueue(first.ch, first.n)
	}
	var persisted int64
	for _, ch := range record {
		i := s.queuedBarrier(ch, id)
		if i < 0 {
			s.recordQueue(ch, s.in.Len(ch))
			if s.queuedEnd(ch) {
				persisted = max(persisted, s.endRecording(ch, id))
			}
			continue
		}
		s.recordQueue(ch, i)
		s.in.RemoveAt(ch, i)
		s.credit(ch)
		persisted = max(persisted, s.aligner.OnPriorityBarrier(ch, id).Persisted)
	}
	return persisted
}

// queuedEnd reports whether input ch's end of input is queued (it is
// the last message of its channel): nothing more can come on ch.
func (s *subtask) queuedEnd(ch int) bool {
	n := s.in.Len(ch)
	return n > 0 && s.in.At(ch, n-1).eoi
}

// endRecording ends the recording of input ch for checkpoint id, whose
// end of input is queued, all of it recorded: its sender has finished
// and sends no barrier (a finished task takes checkpoints without
// one). Waiting for the subtask to consume the end of input, as for an
// aligned checkpoint, would make the unaligned checkpoint wait for the
// whole backlog queued ahead of it. The aligner counts the end as the
// channel's barrier of id; the channel ends when the subtask consumes
// it. It returns id if that completed the input channel state.
func (s *subtask) endRecording(ch int, id int64) int64 {
	return s.aligner.OnPriorityBarrier(ch, id).Persisted
}

// inputMark is the last watermark and stream status a subtask consumed
// from one input channel.
type inputMark struct {
	wm   int64
	seen bool // a watermark came
	idle bool
}

// recordMarks starts the input channel state of every input that has not
// ended with the last watermark and status consumed from it. Watermarks
// are not in operator snapshots (as in Flink): a restored subtask's input
// starts at −∞ and waits for its channels' next watermarks. After an
// aligned checkpoint those come ahead of the records after the barrier;
// after an unaligned one, the in-flight records replayed first may have
// come after a watermark consumed before the snapshot, and they would
// meet −∞ instead — a late record would count as on time. Replaying each
// channel's watermark and status first restores the input's watermark as
// it was at the snapshot, so that every record meets the watermark it
// met before. It can only repeat watermarks downstream, which ignores
// what does not advance.
func (s *subtask) recordMarks() {
	for ch, m := range s.inputMarks {
		if s.ended[ch] {
			continue // it sends no more; its restored sender ends it again
		}
		if m.seen {
			s.rec.state.Inputs[ch] = append(s.rec.state.Inputs[ch], persistence.ChannelEntry{Kind: persistence.EntryWatermark, Watermark: m.wm})
		}
		if m.idle {
			s.rec.state.Inputs[ch] = append(s.rec.state.Inputs[ch], persistence.ChannelEntry{Kind: persistence.EntryStatus, Idle: true})
		}
	}
}

// recorderFor returns the recorder of checkpoint id, starting one if
// there is none; an older one is given up (its checkpoint declined: a
// newer one has begun here, which subsumes it).
func (s *subtask) recorderFor(id int64) *channelRecorder {
	if s.rec != nil && s.rec.id == id {
		return s.rec
	}
	s.dropRecorder(fmt.Errorf("%w: overtaken by checkpoint %d", barrier.ErrSubsumed, id))
	s.rec = &channelRecorder{id: id, inputDone: s.aligner == nil, waitOut: make([]bool, len(s.outputs)),
		state: persistence.ChannelState{Inputs: make([][]persistence.ChannelEntry, len(s.inputs)),
			Outputs: make([][]persistence.ChannelEntry, len(s.outputs))}}
	return s.rec
}

// dropRecorder gives up the channel state being recorded and the
// snapshot waiting for it; with why, its checkpoint is declined.
func (s *subtask) dropRecorder(why error) {
	rec := s.rec
	if rec == nil {
		return
	}
	s.rec = nil
	if rec.held != nil && rec.held.enc != nil {
		_ = rec.held.enc.Close() // a read transaction: nothing to lose
	}
	if why != nil {
		s.decline(rec.id, why)
	}
}

// queuedBarrier returns the place of checkpoint id's barrier in input
// ch's queue, or −1.
func (s *subtask) queuedBarrier(ch int, id int64) int {
	for i := range s.in.Len(ch) {
		if b, ok := s.in.At(ch, i).ev.(operators.Barrier); ok && b.ID == id {
			return i
		}
	}
	return -1
}

// recordQueue records the first n batches queued on input ch, after the
// rest of a batch of ch that the chain stopped in (its output waited for
// credit, or urgent mail), which comes before them: those records have
// reached no operator, so the snapshot does not cover them.
func (s *subtask) recordQueue(ch, n int) {
	if hc, batch, next, ok := s.chain.HeldInput(); ok && hc == ch {
		s.recordInputFrom(ch, &batchMsg{data: batch}, next)
	}
	for i := range n {
		s.recordInput(ch, s.in.At(ch, i))
	}
}

// recordInput adds m, from input ch, to the input channel state.
func (s *subtask) recordInput(ch int, m *batchMsg) { s.recordInputFrom(ch, m, 0) }

// recordInputFrom adds m, from input ch, to the input channel state: its
// records from index from on.
func (s *subtask) recordInputFrom(ch int, m *batchMsg, from int) {
	e, ok, err := channelEntry(s.inputs[ch].edge, m, from)
	if err != nil {
		s.fail(fmt.Errorf("checkpoint %d: in-flight data of input channel %d: %w", s.rec.id, ch, err))
		return
	}
	if ok {
		s.rec.state.Inputs[ch] = append(s.rec.state.Inputs[ch], e)
	}
}

// recordHeldSource stores what a source's chain holds of its poll as the
// source's in-flight data of unaligned checkpoint id: the reader's
// position counts those records and no operator has seen them, so the
// snapshot does not cover them (operators.Chain.HeldSource).
func (s *subtask) recordHeldSource(id int64) {
	entries, err := s.chain.HeldSource()
	if err != nil {
		s.fail(fmt.Errorf("checkpoint %d: in-flight data of the source: %w", id, err))
		return
	}
	if len(entries) > 0 {
		rec := s.recorderFor(id)
		rec.unaligned = true
		rec.state.Source = entries
	}
}

// recordOutput adds m, waiting on output ch, to the output channel state.
func (s *subtask) recordOutput(ch int, m *batchMsg) {
	e, ok, err := channelEntry(s.outputs[ch].edge, m, 0)
	if err != nil {
		s.fail(fmt.Errorf("checkpoint %d: in-flight data of output channel %d: %w", s.rec.id, ch, err))
		return
	}
	if ok {
		s.rec.state.Outputs[ch] = append(s.rec.state.Outputs[ch], e)
	}
}

// channelEntry encodes a channel's message as channel state, with edge's
// codec (a batch's records from index from on): batches and watermarks
// and statuses are; barriers (which mark where channel state ends) and
// the end of input (which the restored sender sends again) are not.
// Batches are pooled and reused once consumed, so they are encoded here,
// not kept.
func channelEntry(edge *operators.VertexEdge, m *batchMsg, from int) (persistence.ChannelEntry, bool, error) {
	switch ev := m.ev.(type) {
	case nil:
		if m.data == nil {
			return persistence.ChannelEntry{}, false, nil
		}
		b, err := edge.EncodeBatchFrom(nil, m.data, from)
		return persistence.ChannelEntry{Kind: persistence.EntryBatch, Batch: b}, err == nil, err
	case operators.Watermark:
		return persistence.ChannelEntry{Kind: persistence.EntryWatermark, Watermark: ev.Time}, true, nil
	case operators.StreamStatus:
		return persistence.ChannelEntry{Kind: persistence.EntryStatus, Idle: ev.Idle}, true, nil
	}
	return persistence.ChannelEntry{}, false, nil
}

// inputPersisted: every input delivered checkpoint id's barrier or ended.
func (s *subtask) inputPersisted(id int64) {
	if s.rec != nil && s.rec.id == id {
		s.rec.inputDone = true
		s.finishRecording()
	}
}

// forwardBarrier passes barrier b on to every output: an unaligned one
// ahead of the batches waiting for credit, an aligned one behind them —
// watched, if it has a deadline, so that it overtakes them then.
func (s *subtask) forwardBarrier(b operators.Barrier) {
	if b.Unaligned {
		s.overtakeOutputs(b)
		return
	}
	s.chain.Emit(b)
	if b.Deadline != 0 && !b.Savepoint && s.store != nil {
		s.watchOutputs(b)
	}
}

// overtakeOutputs sends unaligned barrier b on every output ahead of the
// batches waiting for credit, which become output channel state; the
// partly filled batches are flushed first, so that they are among them.
func (s *subtask) overtakeOutputs(b operators.Barrier) {
	s.chain.Flush()
	rec := s.recorderFor(b.ID)
	rec.unaligned = true
	for ch := range s.outputs {
		for i := range s.out.Pending(ch) {
			s.recordOutput(ch, s.out.PendingAt(ch, i))
		}
		s.offerPriority(ch, &batchMsg{ch: s.outputs[ch].index, out: ch, ev: b})
	}
}

// offerPriority sends m on output ch ahead of what waits for credit.
func (s *subtask) offerPriority(ch int, m *batchMsg) {
	if s.out.OfferPriority(ch, m) {
		s.send(m)
	}
}

// watchOutputs notes the outputs on which aligned barrier b, just
// emitted, waits for credit: the snapshot is stored once it has left
// every one of them (barrierLeft), or once it has overtaken what is
// ahead of it at its deadline (overtakeWaiting).
func (s *subtask) watchOutputs(b operators.Barrier) {
	var rec *channelRecorder
	for ch := range s.outputs {
		n := s.out.Pending(ch)
		if n == 0 {
			continue
		}
		if last, ok := s.out.PendingAt(ch, n-1).ev.(operators.Barrier); !ok || last.ID != b.ID {
			continue
		}
		if rec == nil {
			rec = s.recorderFor(b.ID)
			rec.inputDone = true // aligned: the snapshot holds every input up to the barrier
		}
		rec.waitOut[ch] = true
		rec.waiting++
	}
	if rec != nil {
		s.armAlignTimeout(b.ID, b.Deadline)
	}
}

// barrierLeft is told of every event that leaves an output: the watched
// barrier leaving one, it no longer waits there.
func (s *subtask) barrierLeft(m *batchMsg) {
	b, ok := m.ev.(operators.Barrier)
	if !ok || b.ID != s.rec.id || !s.rec.waitOut[m.out] {
		return
	}
	s.rec.waitOut[m.out] = false
	s.rec.waiting--
}

// overtakeWaiting turns the watched barriers still waiting for credit
// into priority barriers at their deadline: each leaves ahead of the
// batches before it, which become output channel state.
func (s *subtask) overtakeWaiting() {
	rec := s.rec
	rec.unaligned = true
	for ch, waiting := range rec.waitOut {
		if !waiting {
			continue
		}
		i := s.pendingBarrier(ch, rec.id)
		if i < 0 {
			continue
		}
		for j := range i {
			s.recordOutput(ch, s.out.PendingAt(ch, j))
		}
		m := s.out.RemovePending(ch, i)
		b := m.ev.(operators.Barrier)
		b.Unaligned = true
		m.ev = b
		rec.waitOut[ch] = false
		rec.waiting--
		s.offerPriority(ch, m)
	}
}

// pendingBarrier returns the place of checkpoint id's barrier among the
// batches waiting for credit on output ch, or −1.
func (s *subtask) pendingBarrier(ch int, id int64) int {
	for i := range s.out.Pending(ch) {
		if b, ok := s.out.PendingAt(ch, i).ev.(operators.Barrier); ok && b.ID == id {
			return i
		}
	}
	return -1
}

// armAlignTimeout arms the alignment timer for checkpoint id's deadline
// (Unix nanoseconds), unless it is armed for id or a newer one already.
func (s *subtask) armAlignTimeout(id, deadline int64) {
	if id <= s.alignFor {
		return
	}
	s.alignTimer.stop()
	s.alignFor, s.alignAt = id, time.Unix(0, deadline)
	s.alignTimer = sendAfterUnlessPending(s.root, time.Until(s.alignAt), s.ctx.Self(), &alignTimeoutMsg{}, &s.alignPending)
}

// onAlignTimeout: the checkpoint the alignment timer was armed for has
// reached its deadline. Its alignment here turns unaligned — or, if no
// barrier of it was consumed yet, the first one queued is taken out as a
// priority barrier — and its barriers still waiting on outputs overtake
// what is ahead of them. A message from a timer stopped too late (a
// newer deadline replaced it) is ignored.
func (s *subtask) onAlignTimeout() {
	id := s.alignFor
	if id == 0 || !s.state.active() || time.Now().Before(s.alignAt) {
		return
	}
	s.alignFor = 0
	if s.aligner != nil && id > s.lastCheckpoint {
		s.switchInputs(id)
	}
	if s.aligner == nil {
		s.unalignPreparing(id)
	}
	if s.rec != nil && s.rec.id == id && s.rec.waiting > 0 {
		s.overtakeWaiting()
	}
}

// unalignPreparing turns the aligned checkpoints up to id that wait at a
// source for its held poll (watchHeldSource) unaligned: their deadlines
// have passed. They are taken in order (takePrepared, at the next turn)
// with the held records stored as the source's in-flight data.
func (s *subtask) unalignPreparing(id int64) {
	for i, t := range s.preparing {
		if t.id <= id && t.deadline != 0 && !t.savepoint {
			s.preparing[i].unaligned = true
		}
	}
	s.takePrepared()
}

// switchInputs turns checkpoint id unaligned at this subtask's inputs.
func (s *subtask) switchInputs(id int64) {
	if s.aligner.Aligning() == id {
		s.applyAlignment(s.aligner.SwitchToUnaligned(id), nil)
		return
	}
	for ch := range s.inputs {
		if i := s.queuedBarrier(ch, id); i >= 0 {
			m := s.in.RemoveAt(ch, i)
			s.credit(ch)
			s.onPriorityBarrier(ch, m.ev.(operators.Barrier), i)
			return
		}
	}
}

// finishRecording stores the held snapshot with its channel state once
// both are complete.
func (s *subtask) finishRecording() {
	rec := s.rec
	if rec == nil || !rec.complete() || !s.state.active() {
		return
	}
	s.rec = nil
	s.storeState(rec.id, *rec.held, rec)
}

// decline tells the master that this subtask gives up checkpoint id.
func (s *subtask) decline(id int64, why error) {
	if s.store == nil {
		return
	}
	s.root.Send(s.ctx.Parent(), &checkpointAck{attempt: s.attempt, id: id, task: taskID(s.vertex, s.index), err: why})
}
