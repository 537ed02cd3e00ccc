package operators

import "errors"

// Sentinel errors returned by Pipeline.Build, each wrapped with the name of
// the operator it concerns.
var (
	// ErrEmptyPipeline is returned when a pipeline has no operators at all.
	ErrEmptyPipeline = errors.New("operators: pipeline is empty")
	// ErrNoSink is returned when a pipeline has no sink, or when a branch of
	// it ends in an operator whose output goes nowhere.
	ErrNoSink = errors.New("operators: no sink")
	// ErrParallelism is returned for a parallelism below 1 or above the max
	// parallelism.
	ErrParallelism = errors.New("operators: invalid parallelism")
	// ErrNoKeyFunc is returned when KeyBy is given a nil key function.
	ErrNoKeyFunc = errors.New("operators: missing key function")
	// ErrDuplicateName is returned when two operators share a name.
	ErrDuplicateName = errors.New("operators: duplicate operator name")
	// ErrNilFunc is returned when an operator is given a nil user function.
	ErrNilFunc = errors.New("operators: nil function")
	// ErrForeignStream is returned when streams of different pipelines are
	// combined.
	ErrForeignStream = errors.New("operators: stream belongs to another pipeline")
	// ErrDecode is wrapped by source errors for input that cannot be decoded;
	// the message names the file and line.
	ErrDecode = errors.New("operators: cannot decode input")
	// ErrRestore is returned when a snapshot cannot be restored: it has
	// state for an operator that has none, or state the operator rejects.
	ErrRestore = errors.New("operators: cannot restore state")
)

// Sentinel errors of the async I/O operator (AsyncMap, AsyncMapBatch).
var (
	// ErrAsyncTimeout is wrapped by the error that fails a subtask when a
	// record's async call (all its attempts) outlives AsyncConfig.Timeout
	// and no OnTimeout handler is set.
	ErrAsyncTimeout = errors.New("operators: async call timed out")
	// ErrAsyncRuntime is returned when an async operator is opened by a
	// runtime whose TaskContext.Host does not implement AsyncHost.
	ErrAsyncRuntime = errors.New("operators: runtime does not support async I/O")
	// ErrAsyncPanic is wrapped by the error that fails a subtask when the
	// user's async function panics; a panic is never retried.
	ErrAsyncPanic = errors.New("operators: async function panicked")
)

// Sentinel errors of side outputs and windows, returned by Pipeline.Build
// (wrapped with the operator's name) or failing a subtask.
var (
	// ErrNoSideOutput is returned when GetSideOutput asks an operator for a
	// tag it cannot emit (only user functions emit any tag; a window emits
	// its late tag), or when a tag's ID is empty.
	ErrNoSideOutput = errors.New("operators: operator has no such side output")
	// ErrSideOutputType is returned when one tag ID is used with two
	// record types in a pipeline, and fails a subtask whose operator emits
	// to a tag with the wrong type.
	ErrSideOutputType = errors.New("operators: side output tag used with two types")
	// ErrWindow is returned for a window operator that cannot run: a nil
	// assigner or trigger, an assigner for another element type, a bad
	// allowed lateness, or merging windows (sessions) with a function that
	// cannot merge.
	ErrWindow = errors.New("operators: invalid window")
	// ErrWindowStateMerging is returned for per-window state
	// (WindowContext.WindowState) asked for in merging windows, such as
	// sessions, which have none, as in Flink.
	ErrWindowStateMerging = errors.New("operators: per-window state is not allowed with merging windows")
	// ErrJoinBounds is returned for an interval join whose lower bound is
	// above its upper bound, or whose bounds are not whole milliseconds.
	ErrJoinBounds = errors.New("operators: invalid interval join bounds")
	// ErrLossyJSON is returned for state, keys or window accumulators of
	// a type that JSON, their codec when none is given, would not
	// round-trip — a struct with unexported fields encodes as {} — so
	// that a restore would reset them silently: by Pipeline.Build where
	// the type is known then (keys, AggregateWindow's accumulator), else
	// by the state getters (GetValueState, …), failing the subtask.
	ErrLossyJSON = errors.New("operators: JSON would not encode the type faithfully")
	// ErrLifecycle fails the opening of an operator whose function (made
	// by the newFn of a …Rich constructor) has an Open or Close method of
	// another signature than the operator calls, which would never run.
	ErrLifecycle = errors.New("operators: function's Open or Close has the wrong signature")
)

// ErrSourcePanic is wrapped by the error that fails a source subtask when
// user code that the source runs on a goroutine of its own (the file
// source's fetcher, which decodes lines with the record type's decoder)
// panics. The error names the file and line; the chain adds the operator.
var ErrSourcePanic = errors.New("operators: user code panicked in a source")

// ErrOutOfScope is what code outside the subtask's goroutine that
// borrows keyed state (a keyed actor, see ExternalState) panics with, or
// gets as an error, when it touches the state or its timers outside the
// handling of a message, or with no current key (outside a record or a
// timer of the message).
var ErrOutOfScope = errors.New("operators: keyed state used outside the record or timer being handled")
