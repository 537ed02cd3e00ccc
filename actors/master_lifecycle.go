package actors

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
)

// The job master's lifecycle is a state machine: masterStep is its one
// transition function, a pure table from (state, event) to the next
// state, and master.to applies it with the actions that belong to
// entering and leaving each state. A refused (state, event) pair is a
// bug of the master: to logs it as an error and changes nothing. The
// messages the master ignores (a late report of a stopped attempt, a
// subtask's failure while the job goes down) are filtered before they
// become events; see docs/architecture.md, "The job master's states".
//
//	created ─start→ deploying ─wired→ running ─commit→ committing
//	deploying|running|committing ─failover→ failingOver ─agentsGone→ restartDelay
//	    ─delayOver→ awaitingCommit ─commitSettled→ deploying
//	any but ended ─stop→ stopping ─agentsGone→ ended
type masterState int

const (
	// masterCreated: spawned, its Started not handled yet.
	masterCreated masterState = iota
	// masterDeploying: an attempt's agents start and wire their
	// subtasks; savepoints asked for meanwhile wait (deferred).
	masterDeploying
	// masterRunning: every agent wired, the sources started.
	masterRunning
	// masterCommitting: every subtask finished (after the final
	// checkpoint), or a stop's savepoint completed: each subtask commits
	// and confirms (committing counts those yet to confirm).
	masterCommitting
	// masterFailingOver: the attempt's agents are being stopped after a
	// failure; a restart follows once all are gone.
	masterFailingOver
	// masterStopping: the agents are being stopped; the job ends (end)
	// once all are gone.
	masterStopping
	// masterRestartDelay: the failed attempt is gone; the restart timer
	// runs.
	masterRestartDelay
	// masterAwaitingCommit: the delay is over; the restart waits for the
	// outcome of a checkpoint's metadata commit under way (see redeploy).
	masterAwaitingCommit
	// masterEnded: the job's outcome is recorded; the actor stops.
	masterEnded
	masterStates // the number of states
)

var masterStateNames = [...]string{"created", "deploying", "running", "committing", "failing over", "stopping",
	"restart delay", "awaiting metadata commit", "ended"}

func (s masterState) String() string {
	if s < 0 || s >= masterStates {
		return fmt.Sprintf("masterState(%d)", int(s))
	}
	return masterStateNames[s]
}

// live reports whether the current attempt may still have agents that
// the master has not stopped.
func (s masterState) live() bool { return s <= masterCommitting }

// goingDown reports whether the job or its attempt is being stopped, or
// is: no failure counts any more, no new work starts.
func (s masterState) goingDown() bool { return !s.live() }

// masterEvent is what moves the master from one state to another.
type masterEvent int

const (
	evStart         masterEvent = iota // the master actor started
	evWired                            // every agent wired its subtasks; the sources start
	evCommit                           // the final commit, or the stop's commit, begins
	evFailover                         // a failure the restart strategy restarts
	evStop                             // the job is to end (m.end): cancel, failure, finished, stopped
	evAgentsGone                       // every agent of the attempt has terminated
	evDelayOver                        // the restart delay's timer fired
	evCommitSettled                    // no metadata commit under way: the next attempt deploys
	masterEvents                       // the number of events
)

var masterEventNames = [...]string{"start", "wired", "commit", "failover", "stop", "agents gone", "delay over",
	"commit settled"}

func (e masterEvent) String() string {
	if e < 0 || e >= masterEvents {
		return fmt.Sprintf("masterEvent(%d)", int(e))
	}
	return masterEventNames[e]
}

// masterTable is the transition table: the next state of every allowed
// (state, event) pair. A stop in a state that stops already, or ended,
// stays there: a cancel may come while the job goes down or as it ends.
var masterTable = [masterStates]map[masterEvent]masterState{
	masterCreated:        {evStart: masterDeploying, evStop: masterStopping},
	masterDeploying:      {evWired: masterRunning, evFailover: masterFailingOver, evStop: masterStopping},
	masterRunning:        {evCommit: masterCommitting, evFailover: masterFailingOver, evStop: masterStopping},
	masterCommitting:     {evFailover: masterFailingOver, evStop: masterStopping},
	masterFailingOver:    {evAgentsGone: masterRestartDelay, evStop: masterStopping},
	masterStopping:       {evAgentsGone: masterEnded, evStop: masterStopping},
	masterRestartDelay:   {evDelayOver: masterAwaitingCommit, evStop: masterStopping},
	masterAwaitingCommit: {evCommitSettled: masterDeploying, evStop: masterStopping},
	masterEnded:          {evStop: masterEnded},
}

// masterStep is the transition function: the state that event e moves
// state s to, or false if e is refused in s.
func masterStep(s masterState, e masterEvent) (masterState, bool) {
	if s < 0 || s >= masterStates {
		return s, false
	}
	next, ok := masterTable[s][e]
	return next, ok
}

// jobEnd is how the job ends once its agents are gone (masterStopping).
type jobEnd struct {
	state JobState
	err   error
}

// to moves the master by event e and carries out the actions of leaving
// its state and of entering the next; a transition to the same state
// has none. A refused event is logged as an error and changes nothing;
// to reports whether e was taken.
func (m *master) to(ctx actor.Context, e masterEvent) bool {
	next, ok := masterStep(m.state, e)
	if !ok {
		m.log.Error("job master: event refused in its state", "state", m.state, "event", e, "attempt", m.attempt)
		return false
	}
	from := m.state
	if next == from {
		return true
	}
	m.state = next
	m.log.Debug("job master", "from", from, "event", e, "to", next, "attempt", m.attempt)
	if from == masterRestartDelay {
		m.restartTimer.stop() // a cancel during the delay: the timer is the master's
		m.restartTimer = nil
	}
	m.enter(ctx, from)
	return true
}

// enter carries out the actions of entering m.state from state from.
func (m *master) enter(ctx actor.Context, from masterState) {
	switch m.state {
	case masterDeploying:
		m.deploy(ctx)
	case masterRunning:
		m.startRunning(ctx)
	case masterFailingOver, masterStopping:
		if from.live() {
			m.stopAgents(ctx)
		}
	case masterRestartDelay:
		m.release()
		m.restartTimer = sendAfter(m.job.engine.sys.Root, m.delay, ctx.Self(), &restartMsg{attempt: m.attempt})
	case masterEnded:
		m.release()
		m.complete(ctx)
		ctx.Stop(ctx.Self())
	}
}
