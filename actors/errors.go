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
	// ErrReplyTimeout fails the subtask of a custom operator whose actor
	// did not answer a message within its reply timeout
	// (WithReplyTimeout).
	ErrReplyTimeout = errors.New("actors: no reply from the operator's actor")
	// ErrSavepoint is returned when a savepoint cannot be taken: the job is
	// not running, or the savepoint was aborted.
	ErrSavepoint = errors.New("actors: savepoint failed")
	// ErrRestore fails a job that cannot start from a checkpoint: the one
	// to restart from cannot be read (the error names the file), or the
	// one given belongs to another pipeline.
	ErrRestore = errors.New("actors: cannot restore checkpoint")
	// ErrDuplicateRun is returned by Submit for a ContinueRun id that a
	// job of the engine is still running.
	ErrDuplicateRun = errors.New("actors: run already running")

	// errSubtaskStopped ends the state writes of a subtask that stops.
	errSubtaskStopped = errors.New("actors: the subtask stopped")
)

// SubtaskError names the operator chain and subtask that failed the job.
type SubtaskError struct {
	Vertex      string // the chain's operators, joined by " -> "
	Subtask     int
	Parallelism int
	Err         error
}

func (e *SubtaskError) Error() string {
	return fmt.Sprintf("operator %q subtask %d/%d failed: %v", e.Vertex, e.Subtask+1, e.Parallelism, e.Err)
}

func (e *SubtaskError) Unwrap() error { return e.Err }

// PanicError is the cause of a subtask failure that was a panic: the value
// and the stack where it was raised. It is operators.PanicError, which a
// chain also returns for an operator's Close that panicked.
type PanicError = operators.PanicError
