package actors

import "fmt"

// The subtask's lifecycle is a state machine, as the job master's is:
// subtaskStep is its one transition function, a pure table from (state,
// event) to the next state, and subtask.to applies it with the actions of
// entering each state. A refused (state, event) pair is a bug of the
// subtask: to logs it as an error and changes nothing. What a state
// allows the subtask to do (consume, poll, take checkpoints) is asked of
// the state (see its methods), never of a combination of flags; see
// docs/architecture.md, "The subtask's states".
//
//	created ─deploy→ deployed ─start→ running
//	deployed|running ─inputDone→ ending ─ended→ draining ─drained→ finished
//	deployed ─restoredEnded→ ending (it had finished at the checkpoint restored)
//	any before failed ─fail→ failed
//	any before stopping ─stop→ stopping ─stopped→ closed
//
// The start message is the master's: every subtask gets it once every
// subtask of the attempt is wired. It matters to a source (polling
// begins) and to a subtask restored with output channel state (sent
// first); a subtask that is not a source may consume, and even end,
// before its start comes, so start is taken in the later states too and
// changes nothing there.
type subtaskState int

const (
	// stCreated: spawned, not deployed yet (no operators).
	stCreated subtaskState = iota
	// stDeployed: its operators are open, restored if there was a
	// checkpoint; the start has not come: a source does not poll.
	stDeployed
	// stRunning: started; it consumes its input or polls its source.
	stRunning
	// stEnding: all input has ended and the operators' end of input was
	// called; work they have in flight (async I/O) may still emit, and
	// checkpoints wait until they have ended (s.ending).
	stEnding
	// stDraining: the operators have ended and the end of input is
	// queued on every output; it waits for credit to send it.
	stDraining
	// stFinished: everything is sent and the agent told; it still takes
	// checkpoints (its final state) and commits, until it is stopped.
	stFinished
	// stFailed: a failure was reported to the agent; nothing more runs.
	stFailed
	// stStopping: the actor is stopping (Proto.Actor's Stopping); its
	// children stop with it and nothing more runs.
	stStopping
	// stClosed: stopped; its operators are closed and its resources
	// released.
	stClosed
	subtaskStates // the number of states
)

var subtaskStateNames = [...]string{"created", "deployed", "running", "ending", "draining", "finished", "failed",
	"stopping", "closed"}

func (s subtaskState) String() string {
	if s < 0 || s >= subtaskStates {
		return fmt.Sprintf("subtaskState(%d)", int(s))
	}
	return subtaskStateNames[s]
}

// active reports whether the subtask handles its input, timers and
// checkpoints: deployed, and neither failed nor stopping.
func (s subtaskState) active() bool { return s >= stDeployed && s <= stFinished }

// working reports whether the subtask may still consume input and emit:
// deployed and not yet finished.
func (s subtaskState) working() bool { return s >= stDeployed && s <= stDraining }

// endedInput reports whether its operators' end of input was called (or
// restored as called): a snapshot of it is one of a finished subtask once
// they have ended.
func (s subtaskState) endedInput() bool { return s >= stEnding && s <= stFinished }

// eoiQueued reports whether the end of input is on its outputs: no
// barrier follows it.
func (s subtaskState) eoiQueued() bool { return s == stDraining || s == stFinished }

// clockRuns reports whether its operators' processing-time timers fire:
// from its start (before it, its restored output channel state, sent at
// the start, and the other subtasks' deployment go first) until its end
// of input is queued (nothing may follow that; as Flink, the timers
// left then are dropped). Ending keeps them: async I/O's timeouts run
// while its calls in flight finish. Once the end of input is queued only
// the deadlines of operators fetching their state for a checkpoint run
// (Chain.OnPreparingTime).
func (s subtaskState) clockRuns() bool { return s == stRunning || s == stEnding }

// subtaskEvent is what moves a subtask from one state to another.
type subtaskEvent int

const (
	stEvDeploy        subtaskEvent = iota // its operators opened
	stEvStart                             // the master's start came
	stEvRestoredEnded                     // it restored a checkpoint at which it had finished
	stEvInputDone                         // all of its input has ended (source: polled to its end)
	stEvEnded                             // its operators have ended; the end of input is queued
	stEvDrained                           // everything it queued is sent
	stEvFail                              // it or an operator failed
	stEvStop                              // its actor is stopping
	stEvStopped                           // its actor has stopped (its children too)
	subtaskEvents                         // the number of events
)

var subtaskEventNames = [...]string{"deploy", "start", "restored ended", "input done", "ended", "drained", "fail",
	"stop", "stopped"}

func (e subtaskEvent) String() string {
	if e < 0 || e >= subtaskEvents {
		return fmt.Sprintf("subtaskEvent(%d)", int(e))
	}
	return subtaskEventNames[e]
}

// subtaskTable is the transition table: the next state of every allowed
// (state, event) pair. A failure in a state that has failed, or that
// stops or has stopped, stays there unreported: its first cause is the
// one that counts, and a stopping subtask's job is going down already.
// Entering ending has no action of its own: maybeFinish calls the
// operators' end of input then, and again at each turn until they have
// ended (async I/O's work in flight).
var subtaskTable = [subtaskStates]map[subtaskEvent]subtaskState{
	stCreated:  {stEvDeploy: stDeployed, stEvFail: stFailed, stEvStop: stStopping},
	stDeployed: {stEvStart: stRunning, stEvRestoredEnded: stEnding, stEvInputDone: stEnding, stEvFail: stFailed, stEvStop: stStopping},
	stRunning:  {stEvInputDone: stEnding, stEvFail: stFailed, stEvStop: stStopping},
	stEnding:   {stEvStart: stEnding, stEvEnded: stDraining, stEvFail: stFailed, stEvStop: stStopping},
	stDraining: {stEvStart: stDraining, stEvDrained: stFinished, stEvFail: stFailed, stEvStop: stStopping},
	stFinished: {stEvStart: stFinished, stEvFail: stFailed, stEvStop: stStopping},
	stFailed:   {stEvStart: stFailed, stEvFail: stFailed, stEvStop: stStopping},
	stStopping: {stEvStart: stStopping, stEvFail: stStopping, stEvStopped: stClosed},
	stClosed:   {stEvFail: stClosed},
}

// subtaskStep is the transition function: the state that event e moves
// state s to, or false if e is refused in s.
func subtaskStep(s subtaskState, e subtaskEvent) (subtaskState, bool) {
	if s < 0 || s >= subtaskStates {
		return s, false
	}
	next, ok := subtaskTable[s][e]
	return next, ok
}

// to moves the subtask by event e and carries out the actions of
// entering its next state; a transition to the same state has none. A
// refused event is logged as an error and changes nothing; to reports
// whether e was taken.
func (s *subtask) to(e subtaskEvent) bool {
	next, ok := subtaskStep(s.state, e)
	if !ok {
		s.log.Error("subtask: event refused in its state", "state", s.state, "event", e, "attempt", s.attempt)
		return false
	}
	if next == s.state {
		return true
	}
	s.log.Debug("subtask", "from", s.state, "event", e, "to", next, "attempt", s.attempt)
	s.state = next
	s.enter()
	return true
}

// enter carries out the actions of entering s.state.
func (s *subtask) enter() {
	switch s.state {
	case stDraining:
		s.chain.Flush()
		for ch, peer := range s.outputs {
			s.offer(ch, &batchMsg{ch: peer.index, out: ch, eoi: true})
		}
	case stFinished:
		s.reportFinished()
	case stFailed:
		s.ctx.Send(s.ctx.Parent(), &subtaskFailed{id: s.id, err: s.err})
	case stStopping:
		s.stopTimers()
	case stClosed:
		s.shutdown()
	}
}
