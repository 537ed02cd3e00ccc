package actors

import (
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/barrier"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// batchMsg travels on a channel, downstream. data is an *operators.Batch
// of the channel's element type, or nil when the message only carries an
// event. Each batchMsg costs the sender one credit.
//
// A barrier of an unaligned checkpoint (operators.Barrier.Unaligned) is a
// priority message: the sender sends it ahead of what waits for credit
// (mailbox.OutputGate.OfferPriority) and the receiver handles it as it
// arrives, never queued, returning its credit at once.
type batchMsg struct {
	ch   int // the channel's index at the receiver
	out  int // the channel's index at the sender
	data any
	ev   operators.Event // a watermark, status or barrier; with data nil
	eoi  bool            // end of input: the last message on this channel
	// recovered: restored input channel state, queued at deploy; it was
	// never sent in this attempt, so its consumption returns no credit
	recovered bool
	// records in data, counted by a sender with metrics on (for the
	// records that wait for credit, SubtaskMetrics.OutputQueued)
	records int
}

// creditMsg travels upstream: the receiver returns n credits.
type creditMsg struct {
	ch int // the channel's index at the sender
	n  int
}

// deployMsg wires a subtask's channels; its agent sends it once every
// subtask of the attempt, on every node, has been spawned (wire.Wire).
type deployMsg struct {
	inputs  []endpoint
	outputs []endpoint
}

// endpoint is the other end of a channel: the peer subtask and the
// channel's index on the peer's side. remote: the peer is on another
// node, reached with wire messages whose records edge's codec encodes.
type endpoint struct {
	pid      *actor.PID
	index    int
	edge     *operators.VertexEdge
	remote   bool
	sizeHint int      // remote outputs: the bytes to allocate for the next batch
	inFlight inFlight // remote outputs: the messages awaiting their credit
}

// startMsg lets a source subtask start polling, after every subtask of the
// job is wired.
type startMsg struct{}

// pumpMsg is sent by a subtask to itself to go on working (poll its source
// again) without holding its goroutine.
type pumpMsg struct{}

// resumeMsg is sent by a subtask to itself to go on consuming its input
// after it yielded to its mailbox for urgent mail (see drive).
type resumeMsg struct{}

// wakeMsg is sent by a source's fetcher goroutine (through
// TaskContext.Wake) when records are ready.
type wakeMsg struct{}

// timerMsg is sent by a subtask's processing-time timer to itself.
type timerMsg struct{}

// flushMsg is sent by a subtask's buffer timer to itself.
type flushMsg struct{}

// stopSourceMsg asks a source subtask to end its input gracefully.
type stopSourceMsg struct{}

// cancelMsg asks the master to cancel the job.
type cancelMsg struct{}

// subtaskFinished tells the agent (which tells the master) that a subtask
// has sent end of input on all its outputs.
type subtaskFinished struct{ id int }

// subtaskFailed tells the agent (which tells the master) that a subtask
// failed without panicking.
type subtaskFailed struct {
	id  int
	err error
}

// checkpointTick drives the job master's checkpoint coordinator.
type checkpointTick struct{}

// abortMsg tells a subtask that the master aborted checkpoint id.
type abortMsg struct{ id int64 }

// triggerMsg asks a source subtask to take checkpoint id: snapshot, then
// emit the barrier. unaligned and deadline say how its barrier travels
// (operators.Barrier).
type triggerMsg struct {
	id        int64
	savepoint bool
	unaligned bool
	deadline  int64
	// oldestPending is, in a trigger from the master, the oldest
	// checkpoint it still waited for (wire.Trigger.OldestPending); 0 in
	// one a barrier carries.
	oldestPending int64
}

// barrier is the checkpoint's barrier.
func (t triggerMsg) barrier() operators.Barrier {
	return operators.Barrier{ID: t.id, Savepoint: t.savepoint, Unaligned: t.unaligned, Deadline: t.deadline}
}

// triggerOf is the trigger that barrier b carries.
func triggerOf(b operators.Barrier) triggerMsg {
	return triggerMsg{id: b.ID, savepoint: b.Savepoint, unaligned: b.Unaligned, deadline: b.Deadline}
}

// alignTimeoutMsg is sent by a subtask's alignment timer to itself: the
// checkpoint whose barriers it waits for has reached its deadline.
type alignTimeoutMsg struct{}

// checkpointAck tells the master, through the subtask's agent, that a
// subtask stored its state for a checkpoint (handle), or could not (err).
type checkpointAck struct {
	attempt int
	id      int64
	task    barrier.TaskID
	handle  string
	// finished: the subtask's operators had ended (their end of input
	// done) when it snapshotted; its state is final
	finished bool
	// states says what the state under handle holds, per operator
	states map[string]persistence.StateSummary
	err    error
	// size is the bytes of state stored; alignment how long the subtask
	// waited for the barriers of all its inputs (for checkpoint stats)
	size      int64
	alignment time.Duration
	// channels is the handle of the subtask's in-flight data ("": none),
	// inflight its records' bytes; unaligned: the subtask took the
	// checkpoint unaligned (its barrier overtook data somewhere)
	channels  string
	inflight  int64
	unaligned bool
}

// metadataReady tells the master that the metadata writer has results.
type metadataReady struct{}

// metadataWritten is the outcome of a checkpoint's metadata commit.
type metadataWritten struct {
	id   int64
	path string
	err  error
}

// completeMsg tells a subtask that checkpoint id is complete. With
// confirm (or for EndOfJob) the subtask answers finalCommitted once its
// operators have committed.
type completeMsg struct {
	id      int64
	confirm bool
}

// savepointMsg asks the master for a savepoint; with stop, no checkpoint
// follows it, since the job is stopped right after. The master sets taken
// when it receives it: from then on the request is answered on reply
// (capacity 1), by the master or, for a commit under way when the job
// ended, by its metadata writer.
type savepointMsg struct {
	reply chan<- savepointResult
	stop  bool
	taken atomic.Bool
}

// inspectMsg runs fn on the master's goroutine, then closes done
// (Job.inspect).
type inspectMsg struct {
	fn   func(m *master)
	done chan<- struct{}
}

type savepointResult struct {
	path string
	err  error
}

// finalCommitted answers the final completeMsg (EndOfJob) of a finished
// job, or a completeMsg with confirm: subtask id committed what it held,
// or err says why not.
type finalCommitted struct {
	id  int
	err error
}

// sampleMsg asks a subtask for its metrics; its agent sends one at a time
// (see agentMeter).
type sampleMsg struct{}

// subtaskSample answers sampleMsg, and goes to the agent unasked with a
// subtask's final counts before it reports finished.
type subtaskSample struct {
	id      int
	metrics SubtaskMetrics
}
