package actors

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
)

// ActorHost is what an actor operator (FromActor, FromKeyedActor) needs
// from the runtime that runs its subtask: the subtask actor in a job,
// testkit's harness in a test. Its methods are called on the subtask's
// goroutine.
type ActorHost interface {
	// Spawn starts the operator's actor from props as a child of the
	// subtask: a failure of the actor (a panic, or one its own children
	// escalate) fails the subtask.
	Spawn(props *actor.Props) (*actor.PID, error)
	// Request sends msg to pid with the subtask as its sender: the
	// actor's ctx.Respond reaches the subtask's chain (HandleMessage).
	Request(pid *actor.PID, msg any)
	// Stop stops pid and its children: they handle no message after the
	// one in hand. It need not wait for them: the host closes the
	// operator (which releases the keyed state the actor may use) only
	// once the actor has answered everything sent to it, or has stopped
	// — a subtask closes its operators when Proto.Actor tells it its
	// children have stopped.
	Stop(pid *actor.PID) error
}

// host gives runtime-specific operators (custom actor operators, async I/O)
// the services of the subtask that hosts them. Its methods are called from
// the subtask's goroutine, inside its Receive.
type host subtask

var _ ActorHost = (*host)(nil)

// spawn starts a child actor of the subtask, supervised by it: a panic in
// the child escalates to the job agent and fails the subtask.
func (h *host) spawn(props *actor.Props) *actor.PID { return h.ctx.Spawn(props) }

// Spawn implements ActorHost. Proto.Actor panics on props it cannot
// spawn from (a guardian strategy on a child's props): that is an error.
func (h *host) Spawn(props *actor.Props) (pid *actor.PID, err error) {
	defer func() {
		if r := recover(); r != nil {
			pid, err = nil, fmt.Errorf("spawn the operator's actor: %v", r)
		}
	}()
	pid, err = h.ctx.SpawnNamed(props, "actor-"+h.ctx.ActorSystem().ProcessRegistry.NextId())
	if err == nil {
		h.operatorActor = pid // its stop is news for its operator (onChildStopped)
	}
	return pid, err
}

// Request implements ActorHost: the actor's Respond reaches the subtask.
func (h *host) Request(pid *actor.PID, msg any) { h.ctx.Request(pid, msg) }

// Stop implements ActorHost: Proto.Actor's stop, which does not wait.
func (h *host) Stop(pid *actor.PID) error {
	h.ctx.Stop(pid)
	return nil
}

// OutputCredits returns the credit downstream has granted the subtask and
// it has not used yet, over all its output channels (test probes show it).
func (h *host) OutputCredits() int {
	n := 0
	for ch := range h.out.Channels() {
		n += h.out.Credits(ch)
	}
	return n
}
