package actors

import (
	"errors"
	"fmt"

	"github.com/troupe-dev/troupe/operators"
)

var (
	// ErrCancelled is returned by Job.Wait for a job that was cancelled.
	ErrCancelled = errors.New("actors: job cancelled")
	// ErrEngineClosed is returned by Submit after Close.
	ErrEngineClosed = errors.New("actors: engine closed")
	// ErrUnknownPipeline is returned by the registry for a name it lacks.
	ErrUnknownPipeline = errors.New("actors: unknown pipeline")
	// ErrBadParam is returned by the registry for a missing or malformed
	// pipeline parameter.
	ErrBadParam = errors.New("actors: bad pipeline parameter")
	// ErrInvalidSpec is returned by Registry.Register for a pipeline spec
	// without a name or a Build function, or with malformed parameters.
	ErrInvalidSpec = errors.New("actors: invalid pipeline spec")
	// ErrDuplicatePipeline is returned by Registry.Register for a name that
	// is already registered.
	ErrDuplicatePipeline = errors.New("actors: duplicate pipeline")
	// ErrConfig is returned for an invalid engine configuration.
	ErrConfig = errors.New("actors: invalid config")
	// ErrUnexpectedMessage fails a subtask that received a message it does
	// not understand (for example a custom operator's wrong reply type).
	ErrUnexpectedMessage = errors.New("actors: unexpected message")
	// ErrActorOption fails Pipeline.Build for a custom operator
	// (FromActor, FromKeyedActor) given an option it cannot use, such as a negative
	// WithReplyTimeout; the error names the operator.
	ErrActorOption = errors.New("actors: invalid custom operator option")
	// ErrReplyTimeout fails the subtask of a custom operator whose actor
	// did not answer a message within its reply timeout
	// (WithReplyTimeout).
	ErrReplyTimeout = errors.New("actors: no reply from the operator's actor")
	// ErrActorProtocol fails the subtask of a custom operator whose actor
	// broke the protocol: it answered a message with the wrong reply
	// (an *Output to Snapshot, a *State to anything else), sent a reply
	// with no message to answer, or answered Timers without taking them.
	ErrActorProtocol = errors.New("actors: the operator's actor broke its protocol")
	// ErrActorStopped fails the subtask of a custom operator whose actor
	// stopped (itself, or through a supervisor strategy of the user's)
	// while the operator still needed it: a message in flight, or one to
	// send, would never be answered.
	ErrActorStopped = errors.New("actors: the operator's actor stopped")
	// ErrSavepoint is returned when a savepoint cannot be taken: the job is
	// not running, or the savepoint was aborted.
	ErrSavepoint = errors.New("actors: savepoint failed")
	// ErrRestore fails a job that cannot start from a checkpoint: the one
	// to restart from cannot be read (the error names the file), or the
	// one given belongs to another pipeline.
	ErrRestore = errors.New("actors: cannot restore checkpoint")
	// ErrUnalignedRescale is returned, with ErrRestore, for a restore at
	// another parallelism of a checkpoint that holds in-flight data (an
	// unaligned one): its channel state belongs to the channels of the
	// old parallelism. Savepoints are always aligned and rescale; so does
	// a checkpoint that happened to store no in-flight data.
	ErrUnalignedRescale = errors.New("actors: an unaligned checkpoint restores only at its own parallelism")
	// ErrDuplicateRun is returned by Submit for a ContinueRun id that a
	// job of the engine is still running.
	ErrDuplicateRun = errors.New("actors: run already running")

	// ErrPlacement fails an attempt that its Placer could not place.
	ErrPlacement = errors.New("actors: cannot place the job")
	// ErrNodeLost fails an attempt that had subtasks on a node that is
	// gone: its job agent or task manager terminated unexpectedly (the
	// node's remote endpoint terminated, or the agent was stopped).
	ErrNodeLost = errors.New("actors: node lost")
	// ErrSuperseded fails an attempt whose deploy a task manager refused,
	// or whose agents it stopped, because another job master of the run
	// deployed there at a higher owner epoch (OwnerEpoch): the job was
	// taken over, and this master is stale. Its restart strategy applies
	// until the cluster fences it.
	ErrSuperseded = errors.New("actors: superseded by a job master at a higher owner epoch")
	// ErrGraphMismatch fails a job whose graph a node builds differently
	// from the job master (the nodes run different binaries).
	ErrGraphMismatch = errors.New("actors: job graph differs between nodes")
	// ErrTaskManager is returned by StartTaskManager for an engine that
	// has one already, or for a slot count below 1.
	ErrTaskManager = errors.New("actors: cannot start the task manager")

	// errSubtaskStopped ends the state writes of a subtask that stops.
	errSubtaskStopped = errors.New("actors: the subtask stopped")
	// errCheckpointAborted ends the state write of a checkpoint the
	// master aborted.
	errCheckpointAborted = errors.New("actors: the checkpoint was aborted")
)

// SubtaskError names the operator chain, subtask and node that failed
// the job. A cause that crossed the network from another node is its
// text (a *PanicError with the stack's text for a panic); within one
// process it is the original error.
type SubtaskError struct {
	Vertex      string // the chain's operators, joined by " -> "
	Subtask     int
	Parallelism int
	// Node is the node the subtask ran on (Slot.Node); "" for the job
	// master's own process.
	Node string
	Err  error
}

func (e *SubtaskError) Error() string {
	if e.Node != "" {
		return fmt.Sprintf("operator %q subtask %d/%d on node %s failed: %v", e.Vertex, e.Subtask+1, e.Parallelism, e.Node, e.Err)
	}
	return fmt.Sprintf("operator %q subtask %d/%d failed: %v", e.Vertex, e.Subtask+1, e.Parallelism, e.Err)
}

func (e *SubtaskError) Unwrap() error { return e.Err }

// PanicError is the cause of a subtask failure that was a panic: the value
// and the stack where it was raised. It is operators.PanicError, which a
// chain also returns for an operator's Close that panicked.
type PanicError = operators.PanicError
