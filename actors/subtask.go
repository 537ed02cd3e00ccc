package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/actors/wire"
	"github.com/troupe-dev/troupe/barrier"
	"github.com/troupe-dev/troupe/mailbox"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// subtask is the actor hosting one parallel instance of a vertex. All its
// fields are touched only from its own Receive.
type subtask struct {
	id      int
	jobName string
	run     string
	vertex  *operators.Vertex
	index   int
	attempt int
	cfg     Config
	log     *slog.Logger
	root    *actor.RootContext // for sends from timers and other goroutines

	ctx  actor.Context // the context of the message being processed
	self *actor.PID    // set once at deploy; read by wake from other goroutines

	wakePending atomic.Bool
	chain       *operators.Chain
	in          *mailbox.InputGate[*batchMsg]
	out         *mailbox.OutputGate[*batchMsg]
	inputs      []endpoint
	outputs     []endpoint
	// held is the batch message from input channel heldCh whose batch
	// the chain stopped in (operators.Chain.HeldInput): its end of input
	// and credit wait until the rest has gone in (resume); nil when none.
	held   *batchMsg
	heldCh int

	// state is where the subtask is in its lifecycle (subtask_lifecycle.go)
	state subtaskState
	err   error // the failure reported, in stFailed

	ended      []bool
	endedCount int
	sourceDone bool // the source was polled to its end
	pumping    bool // a pumpMsg is in the mailbox
	// resuming: the subtask yielded its input to its mailbox for urgent
	// mail (yieldForUrgent); a resumeMsg is in the mailbox
	resuming bool
	urgent   *urgentMail // its mailbox's count of urgent messages
	yield    func() bool // urgent.waiting, the chain's ChainConfig.Urgent
	// inputMarks holds, per input channel, the last watermark and status
	// consumed from it: an unaligned snapshot stores them ahead of the
	// channel's in-flight data (see recordMarks)
	inputMarks []inputMark
	// pumpWaiting: the pumpMsg comes from a timer (a rate-limited source
	// waits: idle, for metrics)
	pumpWaiting bool
	// operatorActor is the actor of the subtask's custom operator, if any
	// (ActorHost.Spawn): the one child whose stop the operators are told
	operatorActor *actor.PID

	restore *taskRestore // what to start from; nil: a fresh start
	// lastCheckpoint is the newest checkpoint snapshotted
	lastCheckpoint int64
	// alignID is the newest checkpoint whose barriers began to come, at
	// alignStart (for its alignment time)
	alignID    int64
	alignStart time.Time
	// finishedOnRestore: the subtask had finished at the checkpoint it
	// restores; its operators are not ended again (their end already
	// emitted what it emits, and that is in the checkpoint)
	finishedOnRestore bool
	store             CheckpointStore  // nil without checkpointing
	aligner           *barrier.Aligner // nil for sources
	// barriers says how the barriers of the checkpoints seen since the
	// last snapshot travel (savepoint, unaligned, deadline)
	barriers map[int64]triggerMsg
	// rec is the channel state of the checkpoint being taken with it
	// (unaligned, or aligned with barriers that may yet overtake data)
	rec *channelRecorder
	// the alignment timer, armed for checkpoint alignFor's deadline
	alignTimer *ownedTimer
	// alignPending and timerPending: an alignTimeoutMsg, a timerMsg, is
	// in the mailbox (see sendAfterUnlessPending); set by the timers'
	// goroutines
	alignPending, timerPending atomic.Bool
	alignFor                   int64
	alignAt                    time.Time
	// recoveredOut is the restored output channel state, sent at start
	recoveredOut []*batchMsg
	uploads      uploads      // the state writes under way
	ending       []triggerMsg // checkpoints waiting for the operators to end
	expected     []triggerMsg // triggers waiting for every input to end (expect)
	preparing    []triggerMsg // checkpoints waiting for an operator's state (takePrepared)
	// aborted: checkpoints the master aborted before their barriers came
	// here, newer than lastCheckpoint; their barriers are dropped (onAbort)
	aborted []int64

	flushTimer *ownedTimer
	pumpTimer  *ownedTimer
	flushArmed bool
	timer      *ownedTimer
	timerAt    time.Time     // when timer fires; zero when none is armed
	meter      *subtaskMeter // nil with metrics off
	node       string        // the node's name, for metrics

	// frags holds, per remote input channel, the fragments of a logical
	// batch received so far (see onRemoteBatch).
	frags       [][]byte
	remoteStats *remoteStats // counts what remote channels send
}

func (s *subtask) Receive(ctx actor.Context) {
	s.ctx = ctx
	defer rethrowWithStack()
	s.urgent.handled(ctx.Message())
	if _, ok := ctx.Message().(*sampleMsg); ok {
		// Answered without counting as work: the sample sees the
		// subtask as it was between two messages.
		s.ctx.Send(s.ctx.Parent(), &subtaskSample{id: s.id, metrics: s.sample()})
		return
	}
	s.meterBusy()
	s.receive(ctx.Message())
	s.meterSettle()
}

func (s *subtask) receive(msg any) {
	switch m := msg.(type) {
	case *batchMsg:
		if err := s.arrive(m.ch, m); err != nil {
			s.fail(err)
			return
		}
		s.drive()
	case *creditMsg:
		s.out.Grant(m.ch, m.n, s.sendQueued)
		s.drive()
	case *wire.Batch:
		s.onRemoteBatch(m)
	case *wire.Credit:
		s.onRemoteCredit(m)
	case *pumpMsg:
		s.pumping, s.pumpWaiting = false, false
		s.drive()
	case *wakeMsg:
		s.wakePending.Store(false)
		s.drive()
	case *resumeMsg:
		s.resuming = false
		s.drive()
	case *flushMsg:
		s.flushArmed = false
		if s.state.active() {
			s.chain.Flush()
			s.drive()
		}
	case *timerMsg:
		s.timerPending.Store(false)
		s.onTimer()
	case *deployMsg:
		s.deploy(m)
	case *triggerMsg:
		s.onTrigger(m)
		s.drive()
	case *completeMsg:
		s.onComplete(m)
		s.drive()
	case *abortMsg:
		s.onAbort(m.id)
		s.drive()
	case *startMsg:
		if s.state.active() {
			s.sendRecovered()
		}
		s.to(stEvStart)
		s.drive()
	case *alignTimeoutMsg:
		s.alignPending.Store(false)
		s.onAlignTimeout()
		s.drive()
	case *stopSourceMsg:
		if s.state.working() && s.chain.Source != nil {
			s.chain.Source.Stop()
			s.drive()
		}
	case *actor.Started, *actor.Restarting:
	case *actor.Stopping:
		s.to(stEvStop)
	case *actor.Stopped:
		// Proto.Actor delivers Stopped once the subtask's children (a
		// custom operator's actor, async I/O's workers) have stopped:
		// nothing of theirs runs any more while the operators close.
		s.to(stEvStopped)
	case *actor.Terminated:
		// A child stopped. Proto.Actor delivers Terminated as a system
		// message, ahead of the user messages queued before it — the
		// child's last replies among them: the operators hear of the stop
		// once the subtask has taken those (childStopped, queued behind
		// them). While the subtask stops, its children stop with it; the
		// others (async I/O's workers) stop when their operator closes.
		if s.state < stStopping && m.Who.Equal(s.operatorActor) {
			s.ctx.Send(s.ctx.Self(), &childStopped{who: m})
		}
	case *childStopped:
		s.onChildStopped(m.who)
	default:
		// A finished subtask takes only the state an actor operator sends
		// for a checkpoint after the end; other late replies (async I/O)
		// are dropped.
		if s.state > stFinished || (s.state == stFinished && len(s.preparing) == 0) {
			return
		}
		if s.state == stCreated || !s.chain.HandleMessage(m) {
			if s.state != stFinished {
				s.fail(fmt.Errorf("%w: %T", ErrUnexpectedMessage, m))
			}
			return
		}
		s.takePrepared()
		s.chain.BatchEnd()
		s.afterOperators()
		s.drive()
	}
}

// childStopped is a child's Terminated, queued behind what the child sent
// before it stopped.
type childStopped struct{ who *actor.Terminated }

// onChildStopped tells the operators that a child actor of the subtask
// (a custom operator's actor) stopped while the subtask runs, once its
// last replies are in: an operator that still needs it fails.
func (s *subtask) onChildStopped(m *actor.Terminated) {
	if !s.state.active() || !s.chain.HandleMessage(m) {
		return
	}
	s.afterOperators()
	s.drive()
}

// rethrowWithStack keeps the stack of a panic for the job's error, then lets
// it escalate to the job agent, the subtask's supervisor.
func rethrowWithStack() {
	if r := recover(); r != nil {
		if _, ok := r.(*PanicError); ok {
			panic(r)
		}
		panic(&PanicError{Value: r, Stack: debug.Stack()})
	}
}

func (s *subtask) deploy(m *deployMsg) {
	s.self = s.ctx.Self() // before Open: a source's fetcher may call wake at once
	s.inputs, s.outputs = m.inputs, m.outputs
	s.openRemoteOutputs()
	s.frags = make([][]byte, len(m.inputs))
	s.in = mailbox.NewInputGate[*batchMsg](len(m.inputs), s.cfg.Credits)
	s.out = mailbox.NewOutputGate[*batchMsg](len(m.outputs), s.cfg.Credits)
	s.ended = make([]bool, len(m.inputs))
	s.inputMarks = make([]inputMark, len(m.inputs))
	if len(m.inputs) > 0 {
		mode := barrier.ExactlyOnce
		if s.cfg.Checkpoint.AtLeastOnce {
			mode = barrier.AtLeastOnce
		}
		s.aligner, s.barriers = barrier.NewAligner(len(m.inputs), mode), map[int64]triggerMsg{}
	}
	// The subtask reads its own state parts, on its own goroutine: the
	// master and its agent read only the checkpoint's metadata.
	restore, err := s.restore.read()
	var channels *persistence.ChannelState
	if err == nil {
		channels, err = s.restore.readChannels()
	}
	s.restore = nil
	if err != nil {
		s.fail(fmt.Errorf("restore of %s subtask %d: %w", s.vertex.Name, s.index, err))
		return
	}
	chain, err := s.vertex.Open(operators.ChainConfig{
		Job: s.jobName, Run: s.run, Subtask: s.index, Attempt: s.attempt, BatchSize: s.cfg.BatchSize,
		Ship: (*shipper)(s), Logger: s.log, Wake: s.wake, Host: (*host)(s), Faults: s.cfg.Faults,
		OutputFull: s.out.Blocked, Urgent: s.yield,
		Restore: restore, Checkpointing: s.store != nil,
		StateBackend: s.cfg.StateBackend, StateDir: s.cfg.StateDir,
		BatchBytes: s.cfg.BatchBytes, StateCacheEntries: s.cfg.StateCacheEntries, MaxAsyncCapacity: s.cfg.MaxAsyncCapacity,
	})
	if err != nil {
		s.fail(err)
		return
	}
	s.chain = chain
	s.to(stEvDeploy)
	if err := s.replayChannels(channels); err != nil {
		s.fail(fmt.Errorf("restore of %s subtask %d: %w", s.vertex.Name, s.index, err))
		return
	}
	if s.meter != nil {
		s.meter.time.start(time.Now())
	}
	if s.finishedOnRestore {
		chain.MarkEnded()
		s.sourceDone = true
		s.to(stEvRestoredEnded)
	}
}

// wake may be called from any goroutine (a source's fetcher). At most one
// wakeMsg is in the mailbox at a time, which keeps the mailbox bounded.
func (s *subtask) wake() {
	if s.wakePending.CompareAndSwap(false, true) {
		s.root.Send(s.self, &wakeMsg{})
	}
}

// onTimer tells the operators the processing time when the timer armed
// for it (armTimer) fires; a finished subtask's, only those whose state a
// checkpoint waits for.
func (s *subtask) onTimer() {
	s.timerAt = time.Time{}
	switch {
	case s.state.clockRuns():
		s.chain.OnProcessingTime(time.Now())
		s.chain.BatchEnd()
	case s.state.eoiQueued():
		s.chain.OnPreparingTime(time.Now())
	default:
		return // not started, or no longer active
	}
	s.afterOperators()
	s.drive()
}

// drive does the work the subtask can do now: consume queued input while
// its outputs have credit, poll its source, and finish when all input has
// ended. The chain stops between two records when its output waits for
// credit or urgent mail waits (a priority barrier: see urgentMail), and
// holds the rest (operators.Chain.Resume): credit drives it on, and for
// urgent mail it yields to its mailbox until a resumeMsg, as Flink's task
// checks its mailbox between records — a slow operator's backlog never
// holds a barrier back for more than a few records. A finished subtask
// only keeps its timer (see armTimer).
func (s *subtask) drive() {
	if s.rec != nil {
		s.finishRecording() // a barrier it waited for left an output
	}
	if !s.state.active() {
		return
	}
	// An operator may have failed outside a batch: a request it could
	// not send as a checkpoint began (an actor operator whose actor
	// stopped), say.
	if s.afterOperators(); !s.state.active() {
		return
	}
	if s.state == stFinished {
		s.armTimer()
		return
	}
	if s.consumeQueued(); !s.state.active() {
		return
	}
	if s.chain.Source != nil && !s.resuming {
		if s.pollSource(); !s.state.active() {
			return
		}
	}
	s.armFlush()
	s.maybeFinish()
	s.armTimer()
}

// consumeQueued consumes the input queued, and what the chain holds, while
// the outputs have credit and no urgent mail waits.
//
// A subtask restored with output channel state consumes nothing until
// it has sent that state (at its start, sendRecovered): what it would
// produce meanwhile would overtake it on the channel. Input that comes
// earlier — an upstream subtask started first — waits in the gate.
func (s *subtask) consumeQueued() {
	for !s.resuming && s.recoveredOut == nil && !s.out.Blocked() && !s.chain.Blocked() {
		var done bool
		if s.chain.Pending() {
			if s.heldWaitsForStart() {
				return // after the recovered output (sendRecovered), and every subtask deployed
			}
			done = s.resume()
		} else {
			ch, m, ok := s.in.Next()
			if !ok {
				return
			}
			done = s.consume(ch, m)
		}
		if !s.state.active() {
			return
		}
		if s.yieldForUrgent(!done && !s.out.Blocked()) || !done {
			return // credit or the resumeMsg drives it on
		}
	}
}

// yieldForUrgent makes the subtask read its mailbox before it consumes
// more, when urgent mail waits: until the resumeMsg it sends itself, the
// batches already in the mailbox are only queued as they come, not
// consumed one by one ahead of the urgent message behind them. stopped
// says that the chain stopped with output credit left, which only
// urgent mail makes it do: it yields then whatever the count says, so
// that a resumeMsg always follows such a stop. It reports whether it
// yielded.
func (s *subtask) yieldForUrgent(stopped bool) bool {
	if s.resuming {
		return true
	}
	if !stopped && (s.yield == nil || !s.yield()) {
		return false
	}
	s.resuming = true
	s.ctx.Send(s.ctx.Self(), &resumeMsg{})
	return true
}

// consume handles m from input channel ch. It reports false if the chain
// stopped in the middle of m's batch (its output filled up, or urgent
// mail waits): the chain holds the rest, and the subtask holds m, whose
// end and credit wait until resume has fed the rest in.
func (s *subtask) consume(ch int, m *batchMsg) bool {
	if m.data != nil {
		if s.meter != nil {
			s.meter.recordsIn += int64(s.chain.BatchLen(ch, m.data))
			s.meter.batchesIn++
		}
		if !s.chain.Consume(ch, m.data) {
			s.held, s.heldCh = m, ch
			s.chain.BatchEnd()
			s.afterOperators()
			return false
		}
	}
	s.consumed(ch, m)
	return true
}

// resume feeds in the rest of what the chain stopped in: an input batch,
// whose end and credit then follow, or a source's poll. A checkpoint
// that waited for it (a source's: its read position counts the records
// held) is taken once it is all in. It reports whether nothing is held
// any more.
func (s *subtask) resume() bool {
	done := s.chain.Resume()
	if done && s.held != nil {
		m, ch := s.held, s.heldCh
		s.held = nil
		s.consumed(ch, m)
	} else {
		s.chain.BatchEnd()
		s.afterOperators()
	}
	if done && s.state.active() {
		s.takePrepared()
	}
	return done
}

// consumed ends the consumption of a batch message from channel ch whose
// records, if any, have all gone in: its event, its end of input, and
// the credit it held (none for restored channel state, which was never
// sent in this attempt).
func (s *subtask) consumed(ch int, m *batchMsg) {
	if m.data == nil && m.ev != nil {
		if err := s.event(ch, m.ev); err != nil {
			s.fail(err)
			return
		}
	}
	if m.eoi && !s.ended[ch] {
		s.ended[ch] = true
		s.endedCount++
		s.chain.ProcessWatermark(ch, operators.MaxWatermark) // an ended channel holds nothing back
		s.applyAlignment(s.aligner.OnEndOfInput(ch), nil)
		if s.endedCount == len(s.ended) {
			s.takeExpected() // before the subtask's own end of input
		}
	}
	s.chain.BatchEnd()
	if !m.recovered {
		s.credit(ch)
	}
	s.afterOperators()
}

// event hands a control event from input channel ch to the chain.
func (s *subtask) event(ch int, ev operators.Event) error {
	switch e := ev.(type) {
	case operators.Watermark:
		s.chain.ProcessWatermark(ch, e.Time)
		s.inputMarks[ch].wm, s.inputMarks[ch].seen = e.Time, true
	case operators.StreamStatus:
		s.chain.SetIdle(ch, e.Idle)
		s.inputMarks[ch].idle = e.Idle
	case operators.Barrier:
		s.onBarrier(ch, e)
	default:
		return fmt.Errorf("input channel %d: %w: %v", ch, ErrUnexpectedMessage, ev)
	}
	return nil
}

// afterOperators fails the subtask if an operator reported an error.
func (s *subtask) afterOperators() {
	if err := s.chain.Err(); err != nil {
		s.fail(err)
	}
}

// pollSource polls once per pump message, so that credits and control
// messages are handled between two polls.
func (s *subtask) pollSource() {
	if s.state != stRunning || s.sourceDone || s.pumping || s.out.Blocked() || s.chain.Blocked() || s.chain.Pending() {
		return
	}
	p, err := s.chain.Source.Poll(s.cfg.BatchSize)
	s.chain.BatchEnd()
	if err == nil {
		err = s.chain.Err()
	}
	if err != nil {
		s.fail(err)
		return
	}
	switch p.Status {
	case operators.PollMore:
		s.pump()
	case operators.PollDone:
		s.sourceDone = true
	case operators.PollWait:
		if !p.Until.IsZero() {
			s.pumpAt(p.Until)
		}
	}
}

func (s *subtask) inputDone() bool {
	if s.chain.Pending() {
		return false
	}
	if s.chain.Source != nil {
		return s.sourceDone
	}
	return s.endedCount == len(s.ended) && s.in.Queued() == 0
}

// maybeFinish ends the chain once all input has ended, then sends end of
// input downstream and, once everything has been sent, reports to its
// agent: the subtask goes through ending, draining and finished as each
// step can be done.
func (s *subtask) maybeFinish() {
	if !s.inputDone() {
		return
	}
	if s.state == stDeployed || s.state == stRunning {
		s.to(stEvInputDone)
	}
	if s.state == stEnding && !s.endOperators() {
		return
	}
	if s.state == stDraining && !s.out.Blocked() {
		s.to(stEvDrained)
	}
}

// endOperators calls the operators' end of input until they have ended
// (work in flight, async I/O's, emits meanwhile), takes the checkpoints
// that waited for that, and then queues the end of input downstream
// (draining). It reports whether it did.
func (s *subtask) endOperators() bool {
	if !s.chain.Ended() {
		if err := s.chain.EndInput(); err != nil {
			s.fail(err)
			return false
		}
	}
	if !s.chain.Ended() || s.chain.Blocked() {
		return false // operators still have work in flight
	}
	s.takeEnding()
	if s.state != stEnding || len(s.preparing) > 0 || s.chain.Blocked() {
		return false // a checkpoint's barrier goes before the end of input
	}
	return s.to(stEvEnded)
}

// reportFinished tells the agent that the subtask has finished.
func (s *subtask) reportFinished() {
	if s.meter != nil {
		// Its final counts go first, so the job's view ends with them.
		s.ctx.Send(s.ctx.Parent(), &subtaskSample{id: s.id, metrics: s.sample()})
	}
	// With checkpoints the operators stay open for the job's final commit
	// (completeMsg EndOfJob); the actor's stop closes them. Without, a
	// failure to close them (a panic too: Chain.Close returns it) fails
	// the subtask like any operator failure.
	if s.store == nil {
		if err := s.chain.Close(); err != nil {
			s.fail(err)
			return
		}
	}
	s.ctx.Send(s.ctx.Parent(), &subtaskFinished{id: s.id})
}

func (s *subtask) offer(ch int, m *batchMsg) {
	if s.out.Offer(ch, m) {
		s.send(m)
		return
	}
	s.meterQueued(m.records)
}

// sendQueued sends a batch message that waited for the credit it now
// holds.
func (s *subtask) sendQueued(m *batchMsg) {
	s.meterQueued(-m.records)
	s.send(m)
}

// send delivers a batch message that holds a credit: to a local peer the
// message itself, zero copy; to a peer on another node encoded
// (sendRemote).
func (s *subtask) send(m *batchMsg) {
	if s.rec != nil && s.rec.waiting > 0 && m.ev != nil {
		s.barrierLeft(m)
	}
	ep := &s.outputs[m.out]
	if ep.remote {
		s.sendRemote(ep, m)
		return
	}
	s.ctx.Send(ep.pid, m)
}

// credit returns the credit of a batch consumed from input channel ch.
func (s *subtask) credit(ch int) {
	peer := &s.inputs[ch]
	if peer.remote {
		s.ctx.Send(peer.pid, &wire.Credit{Run: s.run, Attempt: int32(s.attempt), Ch: int32(peer.index), N: 1})
		return
	}
	s.ctx.Send(peer.pid, &creditMsg{ch: peer.index, n: 1})
}

// fail reports err as the subtask's failure, unless it has failed
// already (the first cause counts) or is stopping.
func (s *subtask) fail(err error) {
	if s.state < stFailed {
		s.err = err
	}
	s.to(stEvFail)
}

// shutdown releases the subtask's resources when its actor has stopped,
// for any reason. It must not panic: Proto.Actor would then never tell
// the subtask's agent that it terminated, and its job, Job.Cancel and
// Engine.Close would wait for it for ever. Chain.Close returns an
// operator's panic as an error; the recover guards the rest.
//
// A failure to close is logged, not made the job's error: the master
// stops subtasks only once the job is going down for another cause, or,
// with checkpoints, once it has finished and committed its output.
func (s *subtask) shutdown() {
	defer func() {
		if r := recover(); r != nil {
			s.logCloseFailure(&PanicError{Value: r, Stack: debug.Stack()})
		}
	}()
	s.stopTimers()
	s.closeRemoteOutputs()
	s.dropRecorder(nil) // a held snapshot's read transaction, before the operators close
	s.uploads.stop()    // before the operators close: a write may read their bbolt files
	if s.chain != nil {
		if err := s.chain.Close(); err != nil {
			s.logCloseFailure(err)
		}
	}
}

func (s *subtask) logCloseFailure(err error) {
	attrs := []any{"attempt", s.attempt, "err", err}
	var pe *PanicError
	if errors.As(err, &pe) {
		attrs = append(attrs, "stack", string(pe.Stack))
	}
	s.log.Error("closing operators failed", attrs...)
}

// shipper adapts the subtask to operators.Shipper.
type shipper subtask

func (sh *shipper) Ship(ch int, batch any) {
	s := (*subtask)(sh)
	m := &batchMsg{ch: s.outputs[ch].index, out: ch, data: batch}
	if s.meter != nil {
		m.records = s.chain.OutLen(batch)
		s.meter.recordsOut += int64(m.records)
		s.meter.batchesOut++
	}
	s.offer(ch, m)
}

// ShipEvent sends an event on its own message, which costs a credit like a
// batch, so events and batches stay in order under flow control.
func (sh *shipper) ShipEvent(ch int, ev operators.Event) {
	s := (*subtask)(sh)
	s.offer(ch, &batchMsg{ch: s.outputs[ch].index, out: ch, ev: ev})
}
