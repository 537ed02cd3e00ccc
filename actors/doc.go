// Package actors is troupe's runtime on Proto.Actor: it deploys a compiled
// job graph as one actor per operator subtask, moves batches between them
// under credit-based flow control, and supervises the job.
//
// # Model
//
// An [Engine] owns one actor system. [Engine.Submit] spawns a job master
// actor; the master spawns one subtask actor per parallel instance of every
// vertex (its children, so it is their supervisor), wires their channels and
// starts the sources. A subtask hosts an operators.Chain and reacts to
// messages only: batches and end of input from upstream, credits from
// downstream, a pump message it sends itself while its source has records,
// and a flush tick when its buffer timeout passes.
//
// # Invariants
//
//   - A subtask never blocks its goroutine. A sender sends a batch only with
//     a credit from its receiver; a subtask whose output waits for credit
//     stops consuming input and so stops granting credit upstream. Every
//     mailbox therefore holds at most mailbox.Bound messages, and its
//     bounded Proto.Actor mailbox (which would busy-wait a sender when full)
//     is sized so that it is never full.
//   - Records, end of input (and later watermarks and barriers) travel in
//     order on each channel; there is no order across channels.
//   - The job finishes when every subtask has received end of input on all
//     its inputs and sent it on all its outputs; cancel stops every subtask
//     and returns once all have stopped; any operator panic or error fails
//     the job with an error naming the operator and subtask.
//   - A channel's two ends do not know whether the other is local: they talk
//     through a transport, which for local peers passes Go values.
package actors
