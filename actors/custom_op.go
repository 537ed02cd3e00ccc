package actors

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// An actor operator keeps, in stream order, what it has to do with its
// actor (steps) and sends them as requests, each answered by one reply,
// in order. Inputs are pipelined: up to maxInputsInFlight of them may
// wait for their replies at once, so that the actor finds the next in
// its mailbox as it answers one, and the subtask goroutine and the
// actor's work at the same time; every other message is sent alone,
// once everything before it has been answered. Steps that need no
// message (a watermark for an actor that does not take them, a snapshot
// of state the operator holds) are done when they reach the head of the
// queue with nothing in flight, so that their place in the stream is
// kept: a watermark goes downstream after the output of the records
// before it, a snapshot is taken once every message before the barrier
// has been answered.

// maxInputsInFlight bounds the Input messages sent and not answered.
const maxInputsInFlight = 2

// maxBatchesAhead bounds the input batches the operator collects into
// its next Input while maxInputsInFlight are in flight: an actor slower
// than its input gets fewer, larger messages, and the operator holds at
// most (maxInputsInFlight + 1) × maxBatchesAhead batches.
const maxBatchesAhead = 4

// stepKind is one thing the operator does with its actor.
type stepKind uint8

const (
	stepOpen       stepKind = iota + 1 // a keyed actor's Open
	stepRestore                        // Restore (WithState), before any input
	stepInput                          // an Input or KeyedInput
	stepWatermark                      // the event-time timers a watermark fires, then the watermark
	stepStatus                         // the input's idle or active announcement
	stepProcTimers                     // the processing-time timers due
	stepSnapshot                       // a checkpoint's state
	stepEnd                            // EndOfInput
)

// step is a queued stepKind with what it needs.
type step struct {
	kind stepKind
	at   int64  // stepWatermark: the watermark; stepSnapshot: the checkpoint
	idle bool   // stepStatus: idle, or active again
	msg  any    // stepInput: the message
	what string // stepInput: how errors name the message
}

// flight is a request waiting for its reply.
type flight struct {
	step  step
	what  string    // what it is, for errors
	since time.Time // when the reply became due: sent, or the one before answered
	// timers is the message of a Timers request, which the actor empties
	timers any
	// aborted: a Snapshot whose checkpoint the runtime will not take
	// (AbortSnapshot); its State is dropped when it comes
	aborted bool
}

// stateList names the actor's entries in the operator's list state.
const stateList = "actor"

// actorOp is one subtask of an actor operator. K is the key type of a
// keyed actor (FromKeyedActor), whose keyed state and timers x holds;
// FromActor's operator has K struct{} and x nil. Its methods run on the
// subtask's goroutine.
type actorOp[In any, K comparable, Out any] struct {
	h     ActorHost
	pid   *actor.PID
	tc    *operators.TaskContext
	cfg   actorConfig
	out   operators.Collector[Out]
	batch inputBatch[In]
	x     *operators.ExternalState[K]

	queue  []step   // the steps not started, in order
	flight []flight // the requests sent and not answered, oldest first
	ahead  int      // input batches collected into the next Input
	seen   int      // records collected as of the last BatchEnd

	restored   [][]byte           // WithState: the entries Restore gives back
	asked      map[int64]bool     // snapshots queued, fetched or taken-pending, by checkpoint
	ready      map[int64][][]byte // snapshots whose state is at hand, until taken
	holding    bool               // a snapshot is ready: nothing is sent until it is taken
	procQueued bool               // a stepProcTimers is queued
	wmOut      int64              // the output watermark
	ending     bool               // EndInput was called
	done       bool               // EndOfInput was answered
	gone       bool               // the actor stopped: nothing more can be sent
	closed     bool
}

var (
	_ operators.ProcessingTimer  = (*actorOp[int, int, int])(nil)
	_ operators.WatermarkHandler = (*actorOp[int, int, int])(nil)
	_ operators.StatusHandler    = (*actorOp[int, int, int])(nil)
	_ operators.SnapshotPreparer = (*actorOp[int, int, int])(nil)
	_ operators.SnapshotAborter  = (*actorOp[int, int, int])(nil)
	_ operators.Snapshotter      = (*actorOp[int, int, int])(nil)
	_ operators.Restorer         = (*actorOp[int, int, int])(nil)
	_ operators.MessageHandler   = (*actorOp[int, int, int])(nil)
	_ operators.EndMarker        = (*actorOp[int, int, int])(nil)
	_ operators.Collector[int]   = (*actorOp[int, int, int])(nil)
)

func newActorOp[In any, K comparable, Out any](h ActorHost, tc *operators.TaskContext, cfg actorConfig,
	out operators.Collector[Out], batch inputBatch[In], x *operators.ExternalState[K]) *actorOp[In, K, Out] {
	a := &actorOp[In, K, Out]{h: h, tc: tc, cfg: cfg, out: out, batch: batch, x: x,
		asked: map[int64]bool{}, ready: map[int64][][]byte{}, wmOut: operators.MinWatermark}
	if x != nil {
		a.queue = append(a.queue, step{kind: stepOpen})
	}
	if o, ok := h.(operatorObserver); ok {
		o.OperatorOpened(a)
	}
	return a
}

// operatorObserver is implemented by hosts that want the actor operators
// they host: testkit's harness reads a keyed actor's state through
// KeyedState.
type operatorObserver interface {
	OperatorOpened(op any)
}

// KeyedState returns a keyed actor's state and timers (nil for
// FromActor's operator), for test harnesses.
func (a *actorOp[In, K, Out]) KeyedState() *operators.ExternalState[K] { return a.x }

// Collect buffers a record for the next Input.
func (a *actorOp[In, K, Out]) Collect(v In, ts int64) { a.batch.add(v, ts) }

// BatchEnd sends what the batch brought to the actor, unless the actor
// has all the inputs it may have: the records then wait to go with those
// of the next batches (see maxBatchesAhead).
func (a *actorOp[In, K, Out]) BatchEnd() {
	if n := a.batch.size(); n > a.seen {
		a.ahead, a.seen = a.ahead+1, n
	}
	if a.collecting() {
		return
	}
	a.flushInput()
	a.sendNext()
}

// collecting reports whether records collected wait for a place in
// flight: inputs alone are in flight, as many as may be, and fewer than
// maxBatchesAhead batches are collected.
func (a *actorOp[In, K, Out]) collecting() bool {
	return len(a.queue) == 0 && len(a.flight) >= maxInputsInFlight && a.ahead < maxBatchesAhead &&
		a.flight[len(a.flight)-1].step.kind == stepInput
}

// flushInput queues the records collected as one input message, before
// any step that comes after them: they are always the tail of the input.
func (a *actorOp[In, K, Out]) flushInput() {
	if n := a.batch.size(); n > 0 {
		msg, what := a.batch.take()
		a.queue = append(a.queue, step{kind: stepInput, msg: msg, what: what})
	}
	a.ahead, a.seen = 0, 0
}

// enqueue adds a step after everything collected so far, and starts what
// can start.
func (a *actorOp[In, K, Out]) enqueue(s step) {
	a.flushInput()
	a.queue = append(a.queue, s)
	a.sendNext()
}

// sendNext works through the queue while it may: see canStart.
func (a *actorOp[In, K, Out]) sendNext() {
	for a.canStart() {
		s := a.queue[0]
		a.queue = a.queue[1:]
		a.start(s)
	}
}

// canStart reports whether the queue's head may start now: anything when
// nothing is in flight, another input while only inputs are, up to
// maxInputsInFlight; nothing while a snapshot waits to be taken.
func (a *actorOp[In, K, Out]) canStart() bool {
	if len(a.queue) == 0 || a.holding || a.tc.Failed() || a.closed {
		return false
	}
	if len(a.flight) == 0 {
		return true
	}
	return a.queue[0].kind == stepInput && len(a.flight) < maxInputsInFlight &&
		a.flight[len(a.flight)-1].step.kind == stepInput
}

// start begins step s: it sends its message, or does it at once.
func (a *actorOp[In, K, Out]) start(s step) {
	switch s.kind {
	case stepOpen:
		a.send(s, &Open[K]{Task: a.tc.TaskInfo, State: a.x.Scope()}, "Open")
	case stepRestore:
		a.send(s, &Restore{Task: a.tc.TaskInfo, Entries: a.restored}, fmt.Sprintf("a Restore of %d entries", len(a.restored)))
		a.restored = nil
	case stepInput:
		a.send(s, s.msg, s.what)
	case stepWatermark:
		a.startWatermark(s)
	case stepStatus:
		a.tc.MarkIdle(s.idle)
	case stepProcTimers:
		if !a.x.ProcessingTimersDue(a.tc.Now()) {
			a.procQueued = false
			return
		}
		a.sendTimers(s, operators.ProcessingTime)
	case stepSnapshot:
		if !a.cfg.state {
			a.ready[s.at], a.holding = nil, true // the operator holds the state: take it now
			return
		}
		a.send(s, &Snapshot{Checkpoint: s.at}, fmt.Sprintf("Snapshot %d", s.at))
	case stepEnd:
		a.send(s, &EndOfInput{}, "EndOfInput")
	}
}

// startWatermark fires the event-time timers the watermark has reached,
// then gives the watermark to the actor or emits it.
func (a *actorOp[In, K, Out]) startWatermark(s step) {
	if a.x != nil {
		a.x.SetWatermark(s.at)
		if a.x.EventTimersDue() {
			a.sendTimers(s, operators.EventTime)
			return
		}
	}
	if a.cfg.watermarks {
		a.send(s, &Watermark{Time: s.at}, fmt.Sprintf("Watermark %d", s.at))
		return
	}
	a.emitWatermark(s.at)
}

// sendTimers sends a Timers message of domain d for step s, which the
// actor empties of the timers due as it iterates over it.
func (a *actorOp[In, K, Out]) sendTimers(s step, d operators.TimeDomain) {
	a.send(s, &Timers[K]{Domain: d, state: a.x}, fmt.Sprintf("Timers (%v)", d))
}

// send lends the keyed state, if any and not lent yet, and sends msg as
// a request of step s; to an actor that has stopped, it fails instead.
func (a *actorOp[In, K, Out]) send(s step, msg any, what string) {
	if a.gone {
		a.tc.Fail(fmt.Errorf("%w: %s cannot be sent", ErrActorStopped, what))
		return
	}
	if a.x != nil && len(a.flight) == 0 {
		a.x.Lend()
	}
	f := flight{step: s, what: what, since: a.tc.Now()}
	if t, ok := msg.(*Timers[K]); ok {
		f.timers = t
	}
	a.flight = append(a.flight, f)
	a.h.Request(a.pid, msg)
}

// HandleMessage takes the actor's replies, and the news that it stopped.
func (a *actorOp[In, K, Out]) HandleMessage(msg any) bool {
	switch m := msg.(type) {
	case *Output[Out]:
		a.onReply(m, nil)
	case *State:
		a.onReply(nil, m)
	case *actor.Terminated:
		if a.pid == nil || !m.Who.Equal(a.pid) {
			return false
		}
		a.onStopped()
	case *actor.DeadLetterResponse:
		// Proto.Actor's answer to a request that reached no actor: one
		// sent after the actor stopped, before its Terminated came (the
		// subtask takes that behind the replies queued before it). The
		// answer names no target; only actor operators send requests, so
		// the first with one in flight takes it: it will never be
		// answered.
		if a.pid == nil || len(a.flight) == 0 {
			return false
		}
		a.onStopped()
	default:
		return false
	}
	return true
}

// onStopped notes that the actor stopped of its own (itself, or through a
// supervisor strategy of the user's): the request in flight will never
// be answered, nor any sent later, so the subtask fails now or when it
// would send one, rather than waiting for the reply timeout — for ever
// without one. An actor that stops when it has answered everything may
// do so (the job may need nothing more of it).
func (a *actorOp[In, K, Out]) onStopped() {
	if a.closed {
		return // stopped by Close
	}
	a.gone = true
	if len(a.flight) > 0 {
		a.tc.Fail(fmt.Errorf("%w: %s is left unanswered", ErrActorStopped, a.flight[0].what))
	}
}

// onReply takes the reply to the oldest request in flight (o or st),
// takes the keyed state back once nothing is in flight, and goes on with
// the queue.
func (a *actorOp[In, K, Out]) onReply(o *Output[Out], st *State) {
	if len(a.flight) == 0 {
		a.tc.Fail(fmt.Errorf("%w: the actor sent a reply (%s) with no message to answer", ErrActorProtocol, replyName(o, st)))
		return
	}
	f := a.flight[0]
	a.flight = a.flight[1:]
	if len(a.flight) > 0 {
		a.flight[0].since = a.tc.Now() // its reply is due from now on
	} else if a.x != nil {
		a.x.Return()
	}
	if (f.step.kind == stepSnapshot) != (st != nil) {
		want := "*actors.Output"
		if f.step.kind == stepSnapshot {
			want = "*actors.State"
		}
		a.tc.Fail(fmt.Errorf("%w: the actor answered %s with %s; want %s", ErrActorProtocol, f.what, replyName(o, st), want))
		return
	}
	if a.complete(f, o, st) {
		a.flushInput()
		a.sendNext()
	}
}

// complete finishes request f with its reply, and reports whether the
// operator goes on. After a Timers reply its step starts again: more
// timers may be due, and then the watermark.
func (a *actorOp[In, K, Out]) complete(f flight, o *Output[Out], st *State) bool {
	if t, ok := f.timers.(*Timers[K]); ok {
		if t.taken == 0 {
			a.tc.Fail(fmt.Errorf("%w: the actor answered %s without taking its timers (iterate Timers.All)", ErrActorProtocol, f.what))
			return false
		}
		a.emit(o)
		a.queue = append([]step{f.step}, a.queue...)
		return true
	}
	switch f.step.kind {
	case stepSnapshot:
		if !f.aborted {
			a.ready[f.step.at], a.holding = st.Entries, true
		}
		return true
	case stepWatermark:
		a.emit(o)
		if o.Watermark == nil {
			a.emitWatermark(f.step.at)
		}
		return true
	case stepEnd:
		a.done = true
	}
	a.emit(o)
	return true
}

func replyName[Out any](o *Output[Out], st *State) string {
	if st != nil {
		return "*actors.State"
	}
	return fmt.Sprintf("%T", o)
}

// emit sends a reply's records downstream, then its watermark.
func (a *actorOp[In, K, Out]) emit(o *Output[Out]) {
	for _, e := range o.Records {
		a.out.Collect(e.Value, e.Timestamp)
	}
	if o.Watermark != nil {
		a.emitWatermark(o.Watermark.Time)
	}
}

// emitWatermark advances the output watermark to wm, if it is ahead.
func (a *actorOp[In, K, Out]) emitWatermark(wm int64) {
	if wm > a.wmOut {
		a.wmOut = wm
		a.tc.EmitWatermark(wm)
	}
}

// ProcessWatermark queues the watermark after the records before it; it
// goes downstream when its turn has come (see startWatermark).
func (a *actorOp[In, K, Out]) ProcessWatermark(wm int64) (int64, bool) {
	a.enqueue(step{kind: stepWatermark, at: wm})
	return wm, false
}

// ProcessStatus queues an idle (or active) announcement of the input after
// the records before it: it goes downstream once their output has, as a
// watermark does. Passed on at once, it would overtake that output, and
// downstream, no longer holding its watermark back for this channel,
// would take the records that follow as late.
func (a *actorOp[In, K, Out]) ProcessStatus(idle bool) bool {
	a.enqueue(step{kind: stepStatus, idle: idle})
	return false
}

// NextProcessingTime reports when the reply in flight times out, or when
// a keyed actor's next processing-time timer is due.
func (a *actorOp[In, K, Out]) NextProcessingTime() (time.Time, bool) {
	var at time.Time
	ok := false
	if len(a.flight) > 0 && a.cfg.replyTimeout > 0 {
		at, ok = a.flight[0].since.Add(a.cfg.replyTimeout), true
	}
	if a.procTimersWanted() {
		if t, has := a.x.NextProcessingTime(); has && (!ok || t.Before(at)) {
			at, ok = t, true
		}
	}
	return at, ok
}

// procTimersWanted reports whether processing-time timers may be queued:
// a keyed actor's, not queued already, before the end of input (as in
// Flink, they do not fire once the input has ended).
func (a *actorOp[In, K, Out]) procTimersWanted() bool {
	return a.x != nil && !a.procQueued && !a.ending
}

// OnProcessingTime fails the subtask when the reply in flight is late,
// and queues the processing-time timers that are due.
func (a *actorOp[In, K, Out]) OnProcessingTime(now time.Time) {
	if len(a.flight) > 0 && a.cfg.replyTimeout > 0 && !now.Before(a.flight[0].since.Add(a.cfg.replyTimeout)) {
		a.tc.Fail(fmt.Errorf("%w: the actor did not answer %s within %v", ErrReplyTimeout, a.flight[0].what, a.cfg.replyTimeout))
		return
	}
	if !a.procTimersWanted() {
		return
	}
	if at, ok := a.x.NextProcessingTime(); ok && !now.Before(at) {
		a.procQueued = true
		a.enqueue(step{kind: stepProcTimers})
	}
}

// Blocked holds the subtask's input while steps wait behind the
// requests in flight (at most one Input, or one event, is queued), or
// maxBatchesAhead batches are collected, while a snapshot waits to be
// taken, and its end until EndOfInput is answered and nothing else is in
// flight: a finished subtask takes only the answers to the Snapshots of
// its checkpoints, so that the answer to anything else — the watermark
// a subtask restored ended gets again, say — would be dropped, and the
// request left waiting for ever. (Steps queued and not started, as a
// subtask restored ended has before its first input, do not hold it:
// they start with its input, or at its first checkpoint.)
func (a *actorOp[In, K, Out]) Blocked() bool {
	return (len(a.flight) > 0 && (len(a.queue) > 0 || a.ahead >= maxBatchesAhead)) || a.holding ||
		(a.ending && (!a.done || len(a.flight) > 0))
}

// MarkEnded takes a restore from a checkpoint taken after the end of
// input as the end, answered: no EndOfInput is sent again, and
// processing-time timers do not fire (see procTimersWanted).
func (a *actorOp[In, K, Out]) MarkEnded() { a.ending, a.done = true, true }

// EndInput queues EndOfInput after everything before it.
func (a *actorOp[In, K, Out]) EndInput() error {
	a.ending = true
	a.enqueue(step{kind: stepEnd})
	return nil
}

// PrepareSnapshot queues the checkpoint's snapshot after everything
// before the barrier and reports whether its state is at hand: at once
// when the operator holds all of it and nothing is in flight; else once
// the actor has answered what was before it (and, WithState, its
// Snapshot).
func (a *actorOp[In, K, Out]) PrepareSnapshot(id int64) bool {
	if !a.asked[id] {
		a.flushInput()
		if len(a.flight) == 0 && !a.holding && len(a.queue) == 0 && !a.cfg.state {
			return true
		}
		a.asked[id] = true
		a.queue = append(a.queue, step{kind: stepSnapshot, at: id})
	}
	a.sendNext()
	_, ok := a.ready[id]
	return ok
}

// AbortSnapshot forgets checkpoint id, which the runtime asked for
// (PrepareSnapshot) and will not take: its state if at hand — held, it
// would keep every later step from starting — its step if still queued,
// and its Snapshot if in flight, whose State is dropped when it comes.
func (a *actorOp[In, K, Out]) AbortSnapshot(id int64) {
	if !a.asked[id] {
		return
	}
	delete(a.asked, id)
	delete(a.ready, id)
	a.holding = len(a.ready) > 0
	a.queue = slices.DeleteFunc(a.queue, func(s step) bool { return s.kind == stepSnapshot && s.at == id })
	for i := range a.flight {
		if a.flight[i].step.kind == stepSnapshot && a.flight[i].step.at == id {
			a.flight[i].aborted = true
		}
	}
	a.sendNext()
}

// SnapshotState returns the keyed state and the actor's entries for
// checkpoint id; queued steps after the snapshot go on at the next
// BatchEnd, after the barrier.
func (a *actorOp[In, K, Out]) SnapshotState(id int64) (*operators.OperatorState, error) {
	entries, fetched := a.ready[id]
	delete(a.ready, id)
	delete(a.asked, id)
	a.holding = len(a.ready) > 0
	if a.cfg.state && !fetched {
		return nil, fmt.Errorf("checkpoint %d: the actor's state was not asked for (the runtime must call PrepareSnapshot first)", id)
	}
	st := &operators.OperatorState{}
	if a.x != nil {
		ks, err := a.x.SnapshotState()
		if err != nil {
			return nil, err
		}
		st.Keyed, st.KeyedStream = ks.Keyed, ks.KeyedStream
	}
	if a.cfg.state {
		st.Operator = a.listState(entries)
	}
	if st.Keyed == nil && st.KeyedStream == nil && st.Operator == nil {
		return nil, nil
	}
	return st, nil
}

// listState stores the actor's entries as a list of the operator state,
// of the kind the Distribution says.
func (a *actorOp[In, K, Out]) listState(entries [][]byte) *persistence.OperatorSnapshot {
	if entries == nil {
		entries = [][]byte{}
	}
	s := &persistence.OperatorSnapshot{Lists: map[string][][]byte{}, Union: map[string][][]byte{}}
	if a.cfg.mode == Union {
		s.Union[stateList] = entries
	} else {
		s.Lists[stateList] = entries
	}
	return s
}

// RestoreState takes back the keyed state, and queues the actor's
// entries for a Restore message ahead of any input.
func (a *actorOp[In, K, Out]) RestoreState(parts []*operators.OperatorState) error {
	var keyed []*operators.OperatorState
	var entries [][]byte
	lists := false
	for _, p := range parts {
		if p == nil {
			continue
		}
		if p.Operator != nil {
			lists = true
			entries = append(entries, p.Operator.Lists[stateList]...)
			entries = append(entries, p.Operator.Union[stateList]...)
		}
		if p.Keyed != nil {
			keyed = append(keyed, &operators.OperatorState{Keyed: p.Keyed})
		}
	}
	if lists && !a.cfg.state {
		return fmt.Errorf("%w: the checkpoint holds the actor's own state, and the operator has no WithState to take it", operators.ErrRestore)
	}
	if len(keyed) > 0 {
		if a.x == nil {
			return fmt.Errorf("%w: the checkpoint holds keyed state, and the operator is not keyed (FromKeyedActor)", operators.ErrRestore)
		}
		if err := a.x.RestoreState(keyed); err != nil {
			return err
		}
	}
	if a.cfg.state {
		a.restored = entries
		a.queue = append(a.queue, step{kind: stepRestore})
	}
	return nil
}

// Timers returns how many timers a keyed actor has set.
func (a *actorOp[In, K, Out]) Timers() int {
	if a.x == nil {
		return 0
	}
	return a.x.Timers()
}

// StateEntries returns the number of (state, key) entries of a keyed
// actor's states; 0 while they are lent.
func (a *actorOp[In, K, Out]) StateEntries() int {
	if a.x == nil {
		return 0
	}
	return max(a.x.StateEntries(), 0)
}

// Close stops the actor, then releases the keyed state. Its host calls
// it once the actor has answered everything, or has stopped (see
// ActorHost.Stop): the state is no longer in use.
func (a *actorOp[In, K, Out]) Close() error {
	if a.closed {
		return nil
	}
	a.closed = true
	var err error
	if a.pid != nil {
		if err = a.h.Stop(a.pid); err != nil {
			err = fmt.Errorf("stop the operator's actor: %w", err)
		}
	}
	return errors.Join(err, a.closeState())
}

func (a *actorOp[In, K, Out]) closeState() error {
	if a.x == nil {
		return nil
	}
	return a.x.Close()
}

// inputBatch collects the records of the next input message.
type inputBatch[In any] interface {
	add(v In, ts int64)
	size() int
	// take returns the message of the records collected, which it hands
	// over, and how errors name it.
	take() (msg any, what string)
}

// plainBatch makes FromActor's Input messages.
type plainBatch[In any] struct{ recs []operators.Element[In] }

func (b *plainBatch[In]) add(v In, ts int64) {
	b.recs = append(b.recs, operators.Element[In]{Value: v, Timestamp: ts})
}

func (b *plainBatch[In]) size() int { return len(b.recs) }

func (b *plainBatch[In]) take() (any, string) {
	m := &Input[In]{Records: b.recs}
	b.recs = make([]operators.Element[In], 0, cap(m.Records)) // the actor owns the last: a new one, sized as it
	return m, fmt.Sprintf("an Input of %d records", len(m.Records))
}

// keyedBatch makes FromKeyedActor's KeyedInput messages: each record
// with its key, taken on the subtask's goroutine.
type keyedBatch[In any, K comparable] struct {
	key   func(In) K
	state *operators.ExternalState[K]
	recs  []KeyedRecord[In, K]
}

func (b *keyedBatch[In, K]) add(v In, ts int64) {
	b.recs = append(b.recs, KeyedRecord[In, K]{Key: b.key(v), Value: v, Timestamp: ts})
}

func (b *keyedBatch[In, K]) size() int { return len(b.recs) }

func (b *keyedBatch[In, K]) take() (any, string) {
	m := &KeyedInput[In, K]{records: b.recs, state: b.state}
	b.recs = make([]KeyedRecord[In, K], 0, cap(m.records))
	return m, fmt.Sprintf("a KeyedInput of %d records", len(m.records))
}
