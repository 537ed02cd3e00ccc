// Package actors is troupe's runtime on Proto.Actor: it deploys a compiled
// job graph as one actor per operator subtask, moves batches between them
// under credit-based flow control, and supervises the job.
//
// # Model
//
// An [Engine] owns one actor system. [Engine.Submit] spawns a job master
// actor. The master never spawns subtasks itself: it deploys each
// attempt through job agents, one per node that holds some of the job's
// slots (slot i holds subtask i of every vertex). Without a [Placer] the
// only agent is the master's own child, given the job graph directly;
// with one ([WithPlacer], [Engine.SubmitSpec]) the master asks each
// node's [TaskManager] to start an agent, which builds the graph from
// the pipeline registry. An agent spawns its subtask actors (its
// children, so it is their supervisor), and the master wires their
// channels through the agents and starts the sources. Master ⇄ agent
// messages are those of package wire, whether local or remote; agent ⇄
// subtask messages are Go values. A subtask hosts an operators.Chain and
// reacts to messages only: batches and end of input from upstream,
// credits from downstream, a pump message it sends itself while its
// source has records, and a flush tick when its buffer timeout passes.
//
// # Invariants
//
//   - A subtask never blocks its goroutine. A sender sends a batch only with
//     a credit from its receiver; a subtask whose output waits for credit
//     stops consuming input and so stops granting credit upstream. Every
//     mailbox therefore holds at most mailbox.Bound messages, and its
//     bounded Proto.Actor mailbox (which would busy-wait a sender when full)
//     is sized so that it is never full.
//   - Records, end of input, watermarks and barriers travel in order on
//     each channel; there is no order across channels. The one exception
//     is an unaligned checkpoint's barrier, a priority message that
//     overtakes what is queued on its channel (sent ahead of what waits
//     for credit, with at most one credit overdrawn, and handled by the
//     receiver as it arrives); what it overtook is stored as the
//     checkpoint's channel state, and a restore replays it, in order,
//     before anything new.
//   - The job finishes when every subtask has received end of input on all
//     its inputs and sent it on all its outputs; cancel stops every agent,
//     hence every subtask, and returns once all have stopped; any operator
//     panic or error fails the job with an error naming the operator, the
//     subtask and (in a cluster) the node.
//   - A channel between two subtasks of one process passes Go values (zero
//     copy); a channel between nodes encodes its batches with the stream's
//     codec into wire messages, capped in bytes, under the same credits,
//     and the receiver sees the same batches and events as locally.
//   - The collector's settings are the process's. An engine with Memory or
//     GCPercent holds them while it runs and puts back what the program
//     had; an engine that leaves them at the runtime's defaults wants the
//     heap reserve, which the process holds while some running engine
//     wants it and none tunes the collector (heap_reserve.go).
//   - Every master ⇄ agent and remote channel message carries the run and
//     attempt; messages of another attempt are dropped. The master watches
//     its agents and an agent on another node watches its master: either
//     one gone (its node lost) ends the other's attempt.
package actors
