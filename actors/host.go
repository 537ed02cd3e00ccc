package actors

import "github.com/asynkron/protoactor-go/actor"

// host gives runtime-specific operators (custom actor operators, async I/O)
// the services of the subtask that hosts them. Its methods are called from
// the subtask's goroutine, inside its Receive.
type host subtask

// spawn starts a child actor of the subtask, supervised by it: a panic in
// the child escalates to the job agent and fails the subtask.
func (h *host) spawn(props *actor.Props) *actor.PID { return h.ctx.Spawn(props) }

// request sends msg to pid with the subtask as sender, so that the actor's
// Respond reaches the subtask.
func (h *host) request(pid *actor.PID, msg any) { h.ctx.Request(pid, msg) }

// OutputCredits returns the credit downstream has granted the subtask and
// it has not used yet, over all its output channels (test probes show it).
func (h *host) OutputCredits() int {
	n := 0
	for ch := range h.out.Channels() {
		n += h.out.Credits(ch)
	}
	return n
}
