package actors

import (
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// An actor operator keeps, in stream order, what it has to do with its
// actor (steps) and sends one request at a time, blocking the subtask's
// input until the reply comes. Steps that need no message (a watermark
// for an actor that does not take them, a snapshot of state the
// operator holds) are done when they reach the head of the queue, so
// that their place in the stream is kept: a watermark goes downstream
// after the output of the records before it, a snapshot is taken once
// every message before the barrier has been answered.

// stepKind is one thing the operator does with its actor.
type stepKind uint8

const (
	stepOpen       stepKind = iota + 1 // a keyed actor's Open
	stepRestore                        // Restore (WithState), before any input
	stepInput                          // an Input or KeyedInput
	stepWatermark                      // the event-time timers a watermark fires, then the watermark
	stepProcTimers                     // the processing-time timers due
	stepSnapshot                       // a checkpoint's state
	stepEnd                            // EndOfInput
)

// step is a queued stepKind with what it needs.
type step struct {
	kind stepKind
	at   int64  // stepWatermark: the watermark; stepSnapshot: the checkpoint
	msg  any    // stepInput: the message
	what string // stepInput: how errors name the message
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

	queue []step
	// the request in flight
	inFlight bool
	waiting  stepKind  // the kind of step it belongs to
	what     string    // what it is, for errors
	sentAt   time.Time // when it was sent, for the reply timeout
	timers   *Timers[K]

	restored   [][]byte           // WithState: the entries Restore gives back
	asked      map[int64]bool     // snapshots queued, fetched or taken-pending, by checkpoint
	ready      map[int64][][]byte // snapshots whose state is at hand, until taken
	holding    bool               // a snapshot is ready: nothing is sent until it is taken
	procQueued bool               // a stepProcTimers is queued
	wmOut      int64              // the output watermark
	ending     bool               // EndInput was called
	done       bool               // EndOfInput was answered
	closed     bool
}

var (
	_ operators.ProcessingTimer  = (*actorOp[int, int, int])(nil)
	_ operators.WatermarkHandler = (*actorOp[int, int, int])(nil)
	_ operators.SnapshotPreparer = (*actorOp[int, int, int])(nil)
	_ operators.Snapshotter      = (*actorOp[int, int, int])(nil)
	_ operators.Restorer         = (*actorOp[int, int, int])(nil)
	_ operators.MessageHandler   = (*actorOp[int, int, int])(nil)
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

// BatchEnd sends what the batch brought to the actor.
func (a *actorOp[In, K, Out]) BatchEnd() {
	a.flushInput()
	a.sendNext()
}

// flushInput queues the records collected as one input message, before
// any step that comes after them.
func (a *actorOp[In, K, Out]) flushInput() {
	if n := a.batch.size(); n > 0 {
		msg, what := a.batch.take()
		a.queue = append(a.queue, step{kind: stepInput, msg: msg, what: what})
	}
}

// enqueue adds a step after everything collected so far, and starts what
// can start.
func (a *actorOp[In, K, Out]) enqueue(s step) {
	a.flushInput()
	a.queue = append(a.queue, s)
	a.sendNext()
}

// sendNext works through the queue until a request is in flight, a
// snapshot waits to be taken, or nothing is left.
func (a *actorOp[In, K, Out]) sendNext() {
	for !a.inFlight && !a.holding && len(a.queue) > 0 && !a.tc.Failed() && !a.closed {
		if !a.start(&a.queue[0]) {
			a.queue = a.queue[1:]
		}
	}
}

// start begins the step at the head of the queue: it sends its message
// and returns true, or does it at once and returns false.
func (a *actorOp[In, K, Out]) start(s *step) bool {
	switch s.kind {
	case stepOpen:
		a.send(stepOpen, &Open[K]{Task: a.tc.TaskInfo, State: a.x.Scope()}, "Open")
	case stepRestore:
		a.send(stepRestore, &Restore{Task: a.tc.TaskInfo, Entries: a.restored}, fmt.Sprintf("a Restore of %d entries", len(a.restored)))
		a.restored = nil
	case stepInput:
		a.send(stepInput, s.msg, s.what)
	case stepWatermark:
		return a.startWatermark(s.at)
	case stepProcTimers:
		if !a.x.ProcessingTimersDue(a.tc.Now()) {
			a.procQueued = false
			return false
		}
		a.sendTimers(operators.ProcessingTime)
	case stepSnapshot:
		if !a.cfg.state {
			a.ready[s.at], a.holding = nil, true // the operator holds the state: take it now
			return false
		}
		a.send(stepSnapshot, &Snapshot{Checkpoint: s.at}, fmt.Sprintf("Snapshot %d", s.at))
	case stepEnd:
		a.send(stepEnd, &EndOfInput{}, "EndOfInput")
	}
	return true
}

// startWatermark fires the event-time timers the watermark has reached,
// then gives the watermark to the actor or emits it.
func (a *actorOp[In, K, Out]) startWatermark(wm int64) bool {
	if a.x != nil {
		a.x.SetWatermark(wm)
		if a.x.EventTimersDue() {
			a.sendTimers(operators.EventTime)
			return true
		}
	}
	if a.cfg.watermarks {
		a.send(stepWatermark, &Watermark{Time: wm}, fmt.Sprintf("Watermark %d", wm))
		return true
	}
	a.emitWatermark(wm)
	return false
}

// sendTimers sends a Timers message of domain d, which the actor empties
// of the timers due as it iterates over it.
func (a *actorOp[In, K, Out]) sendTimers(d operators.TimeDomain) {
	a.timers = &Timers[K]{Domain: d, state: a.x}
	kind := stepWatermark
	if d == operators.ProcessingTime {
		kind = stepProcTimers
	}
	a.send(kind, a.timers, fmt.Sprintf("Timers (%v)", d))
}

// send lends the keyed state, if any, and sends msg as the request in
// flight.
func (a *actorOp[In, K, Out]) send(kind stepKind, msg any, what string) {
	if a.x != nil {
		a.x.Lend()
	}
	a.inFlight, a.waiting, a.what, a.sentAt = true, kind, what, a.tc.Now()
	if _, isTimers := msg.(*Timers[K]); !isTimers {
		a.timers = nil
	}
	a.h.Request(a.pid, msg)
}

// HandleMessage takes the actor's replies.
func (a *actorOp[In, K, Out]) HandleMessage(msg any) bool {
	switch m := msg.(type) {
	case *Output[Out]:
		a.onReply(m, nil)
	case *State:
		a.onReply(nil, m)
	default:
		return false
	}
	return true
}

// onReply takes the reply to the request in flight (o or st), takes the
// keyed state back, and goes on with the queue.
func (a *actorOp[In, K, Out]) onReply(o *Output[Out], st *State) {
	if !a.inFlight {
		a.tc.Fail(fmt.Errorf("%w: the actor sent a reply (%s) with no message to answer", ErrActorProtocol, replyName(o, st)))
		return
	}
	a.inFlight = false
	if a.x != nil {
		a.x.Return()
	}
	if (a.waiting == stepSnapshot) != (st != nil) {
		want := "*actors.Output"
		if a.waiting == stepSnapshot {
			want = "*actors.State"
		}
		a.tc.Fail(fmt.Errorf("%w: the actor answered %s with %s; want %s", ErrActorProtocol, a.what, replyName(o, st), want))
		return
	}
	if !a.complete(o, st) {
		return
	}
	a.sendNext()
}

// complete finishes the step at the head of the queue with its reply,
// and reports whether the operator goes on.
func (a *actorOp[In, K, Out]) complete(o *Output[Out], st *State) bool {
	head := a.queue[0]
	if a.timers != nil { // the head step stays: more timers may be due
		if a.timers.taken == 0 {
			a.tc.Fail(fmt.Errorf("%w: the actor answered %s without taking its timers (iterate Timers.All)", ErrActorProtocol, a.what))
			return false
		}
		a.timers = nil
		a.emit(o)
		return true
	}
	a.queue = a.queue[1:]
	switch head.kind {
	case stepSnapshot:
		a.ready[head.at], a.holding = st.Entries, true
		return true
	case stepWatermark:
		a.emit(o)
		if o.Watermark == nil {
			a.emitWatermark(head.at)
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

// NextProcessingTime reports when the reply in flight times out, or when
// a keyed actor's next processing-time timer is due.
func (a *actorOp[In, K, Out]) NextProcessingTime() (time.Time, bool) {
	var at time.Time
	ok := false
	if a.inFlight && a.cfg.replyTimeout > 0 {
		at, ok = a.sentAt.Add(a.cfg.replyTimeout), true
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
	if a.inFlight && a.cfg.replyTimeout > 0 && !now.Before(a.sentAt.Add(a.cfg.replyTimeout)) {
		a.tc.Fail(fmt.Errorf("%w: the actor did not answer %s within %v", ErrReplyTimeout, a.what, a.cfg.replyTimeout))
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

// Blocked holds the subtask's input while a request is in flight or a
// snapshot waits to be taken, and its end until EndOfInput is answered.
func (a *actorOp[In, K, Out]) Blocked() bool {
	return a.inFlight || a.holding || (a.ending && !a.done)
}

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
		if !a.inFlight && !a.holding && len(a.queue) == 0 && !a.cfg.state {
			return true
		}
		a.asked[id] = true
		a.queue = append(a.queue, step{kind: stepSnapshot, at: id})
	}
	a.sendNext()
	_, ok := a.ready[id]
	return ok
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

// Close stops the actor, waiting for the message it handles to end, then
// releases the keyed state. An actor that does not stop keeps the state
// (it may still be using it): the error says so.
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
	if err != nil && a.inFlight && a.x != nil {
		return fmt.Errorf("%w; its keyed state is left open", err)
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
	b.recs = nil
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
	b.recs = nil
	return m, fmt.Sprintf("a KeyedInput of %d records", len(m.records))
}
