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
	// held is the input batch the chain stopped in when the output
	// filled up (operators.Chain.Resume), from input channel heldCh;
	// nil when none.
	held   *batchMsg
	heldCh int

	ended      []bool
	endedCount int
	started    bool // sources: polling allowed
	sourceDone bool
	pumping    bool // a pumpMsg is in the mailbox
	// pumpWaiting: the pumpMsg comes from a timer (a rate-limited source
	// waits: idle, for metrics)
	pumpWaiting bool
	inputEnded  bool // EndInput was called on the chain
	eoiSent     bool
	finished    bool
	failed      bool

	restore *taskRestore // what to start from; nil: a fresh start
	// lastCheckpoint is the newest checkpoint snapshotted
	lastCheckpoint int64
	// alignID is the newest checkpoint whose barriers began to come, at
	// alignStart (for its alignment time)
	alignID    int64
	alignStart time.Time
	endChecked bool // a source's checkpoint taken after its input ended
	// finishedOnRestore: the subtask had finished at the checkpoint it
	// restores; its operators are not ended again (their end already
	// emitted what it emits, and that is in the checkpoint)
	finishedOnRestore bool
	atEndSent         bool             // sourceAtEnd was sent
	store             CheckpointStore  // nil without checkpointing
	aligner           *barrier.Aligner // nil for sources
	savepoints        map[int64]bool   // barriers of savepoints being aligned
	uploads           uploads          // the state writes under way
	ending            []triggerMsg     // checkpoints waiting for the operators to end
	expected          []triggerMsg     // triggers waiting for every input to end (expect)
	preparing         []triggerMsg     // checkpoints waiting for an operator's state (takePrepared)

	flushTimer *time.Timer
	pumpTimer  *time.Timer
	flushArmed bool
	timer      *time.Timer
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
		if err := s.in.Push(m.ch, m); err != nil {
			s.fail(fmt.Errorf("input channel %d: %w", m.ch, err))
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
	case *flushMsg:
		s.flushArmed = false
		if s.chain != nil && !s.failed {
			s.chain.Flush()
			s.drive()
		}
	case *timerMsg:
		s.timerAt = time.Time{}
		if s.chain != nil && !s.failed {
			s.chain.OnProcessingTime(time.Now())
			s.chain.BatchEnd()
			s.afterOperators()
			s.drive()
		}
	case *deployMsg:
		s.deploy(m)
	case *triggerMsg:
		s.onTrigger(m)
		s.drive()
	case *completeMsg:
		s.onComplete(m)
		s.drive()
	case *startMsg:
		s.started = true
		s.drive()
	case *stopSourceMsg:
		if s.chain != nil && s.chain.Source != nil {
			s.chain.Source.Stop()
			s.drive()
		}
	case *actor.Started, *actor.Restarting:
	case *actor.Stopping:
		s.stopTimers()
	case *actor.Stopped:
		// Proto.Actor delivers Stopped once the subtask's children (a
		// custom operator's actor, async I/O's workers) have stopped:
		// nothing of theirs runs any more while the operators close.
		s.shutdown()
	case *actor.Terminated:
	default:
		// A finished subtask takes only the state an actor operator sends
		// for a checkpoint after the end; other late replies (async I/O)
		// are dropped.
		if s.failed || (s.finished && len(s.preparing) == 0) {
			return
		}
		if s.chain == nil || !s.chain.HandleMessage(m) {
			if !s.finished {
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
	if len(m.inputs) > 0 {
		mode := barrier.ExactlyOnce
		if s.cfg.Checkpoint.AtLeastOnce {
			mode = barrier.AtLeastOnce
		}
		s.aligner, s.savepoints = barrier.NewAligner(len(m.inputs), mode), map[int64]bool{}
	}
	// The subtask reads its own state parts, on its own goroutine: the
	// master and its agent read only the checkpoint's metadata.
	restore, err := s.restore.read()
	s.restore = nil
	if err != nil {
		s.fail(fmt.Errorf("restore of %s subtask %d: %w", s.vertex.Name, s.index, err))
		return
	}
	chain, err := s.vertex.Open(operators.ChainConfig{
		Job: s.jobName, Run: s.run, Subtask: s.index, Attempt: s.attempt, BatchSize: s.cfg.BatchSize,
		Ship: (*shipper)(s), Logger: s.log, Wake: s.wake, Host: (*host)(s), Faults: s.cfg.Faults, OutputFull: s.out.Blocked,
		Restore: restore, Checkpointing: s.store != nil,
		StateBackend: s.cfg.StateBackend, StateDir: s.cfg.StateDir,
		BatchBytes: s.cfg.BatchBytes, StateCacheEntries: s.cfg.StateCacheEntries, MaxAsyncCapacity: s.cfg.MaxAsyncCapacity,
	})
	if err != nil {
		s.fail(err)
		return
	}
	s.chain = chain
	if s.meter != nil {
		s.meter.time.start(time.Now())
	}
	if s.finishedOnRestore {
		chain.MarkEnded()
		s.inputEnded, s.sourceDone = true, true
	}
}

// wake may be called from any goroutine (a source's fetcher). At most one
// wakeMsg is in the mailbox at a time, which keeps the mailbox bounded.
func (s *subtask) wake() {
	if s.wakePending.CompareAndSwap(false, true) {
		s.root.Send(s.self, &wakeMsg{})
	}
}

// drive does all the work the subtask can do now: consume queued input
// while its outputs have credit, poll its source, and finish when all input
// has ended.
func (s *subtask) drive() {
	if s.chain == nil || s.failed || s.finished {
		return
	}
	for !s.out.Blocked() && !s.chain.Blocked() {
		if s.chain.Pending() {
			if !s.resume() || s.failed {
				break
			}
			continue
		}
		ch, m, ok := s.in.Next()
		if !ok {
			break
		}
		s.consume(ch, m)
		if s.failed {
			return
		}
	}
	if s.failed {
		return
	}
	if s.chain.Source != nil {
		s.pollSource()
		if s.failed {
			return
		}
	}
	s.armFlush()
	s.maybeFinish()
	s.armTimer()
}

func (s *subtask) consume(ch int, m *batchMsg) {
	if m.data != nil {
		if s.meter != nil {
			s.meter.recordsIn += int64(s.chain.BatchLen(ch, m.data))
			s.meter.batchesIn++
		}
		if !s.chain.Consume(ch, m.data) {
			// The output filled up: the rest of the batch waits for
			// credit (resume), and so does the batch's own credit.
			s.held, s.heldCh = m, ch
			s.chain.BatchEnd()
			s.afterOperators()
			return
		}
	}
	s.consumed(ch, m)
}

// resume feeds in the rest of what the chain stopped in when its output
// filled up: an input batch, whose end and credit then follow, or a
// source's poll. A checkpoint that waited for it (a source's: its read
// position counts the records held) is taken once it is all in. It
// reports whether nothing is held any more.
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
	if done && !s.failed {
		s.takePrepared()
	}
	return done
}

// consumed ends the consumption of a batch message from channel ch whose
// records, if any, have all gone in: its event, its end of input, and
// the credit it held.
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
		s.applyAlignment(s.aligner.OnEndOfInput(ch))
		if s.endedCount == len(s.ended) {
			s.takeExpected() // before the subtask's own end of input
		}
	}
	s.chain.BatchEnd()
	s.credit(ch)
	s.afterOperators()
}

// event hands a control event from input channel ch to the chain.
func (s *subtask) event(ch int, ev operators.Event) error {
	switch e := ev.(type) {
	case operators.Watermark:
		s.chain.ProcessWatermark(ch, e.Time)
	case operators.StreamStatus:
		s.chain.SetIdle(ch, e.Idle)
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
	if !s.started || s.sourceDone || s.pumping || s.out.Blocked() || s.chain.Blocked() || s.chain.Pending() {
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
// agent.
func (s *subtask) maybeFinish() {
	if !s.inputDone() {
		return
	}
	if !s.inputEnded || !s.chain.Ended() {
		s.inputEnded = true
		if err := s.chain.EndInput(); err != nil {
			s.fail(err)
			return
		}
	}
	if !s.chain.Ended() || s.chain.Blocked() {
		return // operators still have work in flight
	}
	s.takeEnding()
	if len(s.preparing) > 0 || s.chain.Blocked() {
		return // a checkpoint's barrier goes before the end of input
	}
	if !s.eoiSent {
		s.eoiSent = true
		s.chain.Flush()
		for ch, peer := range s.outputs {
			s.offer(ch, &batchMsg{ch: peer.index, out: ch, eoi: true})
		}
	}
	if s.out.Blocked() {
		return
	}
	s.finished = true
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

func (s *subtask) fail(err error) {
	if s.failed {
		return
	}
	s.failed = true
	s.ctx.Send(s.ctx.Parent(), &subtaskFailed{id: s.id, err: err})
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
	s.uploads.stop() // before the operators close: a write may read their bbolt files
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
