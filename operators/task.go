package operators

import (
	"fmt"
	"log/slog"
	"time"
)

// TaskInfo identifies one subtask of one operator.
type TaskInfo struct {
	Job            string
	Operator       string
	Subtask        int // 0-based index
	Parallelism    int
	MaxParallelism int
	Attempt        int
	// Run is the id of the job run: one submission of the job, the same
	// in all its attempts and resumes (see actors.ContinueRun). What an
	// operator leaves outside checkpoint storage, such as a file sink's
	// part files, names its run. Empty outside a runtime (tests).
	Run string
}

// TaskContext is what an operator instance gets from the runtime when it is
// opened. It belongs to one subtask and is used from that subtask's
// goroutine only.
type TaskContext struct {
	TaskInfo
	Logger *slog.Logger
	// Now is the processing-time clock; tests replace it.
	Now func() time.Time
	// Host is the runtime's services for runtime-specific operators
	// (async I/O, operators backed by actors); nil outside a runtime.
	// Other built-in operators ignore it.
	Host Host
	// Checkpointing is true when the job takes checkpoints: sinks then
	// make their output visible only when a checkpoint completes.
	Checkpointing bool
	// StateBackend names the keyed state backend: StateBackendHeap (also
	// when empty) or StateBackendBolt.
	StateBackend string
	// StateDir is where the bbolt backend puts its files (one per keyed
	// subtask and attempt, removed when the subtask closes); required
	// with StateBackendBolt.
	StateDir string
	// StateCacheEntries bounds the bbolt backend's cache of decoded
	// entries (persistence.BackendConfig.CacheEntries); 0: the
	// backend's default.
	StateCacheEntries int
	// MaxAsyncCapacity is the most records an async operator of this
	// subtask may have in flight: a Capacity left to its default is
	// lowered to it, and a larger Capacity set by the pipeline fails the
	// operator's open. 0: no ceiling.
	MaxAsyncCapacity int

	wake func()
	// brake is the chain's: whether to stop between two records (see
	// Chain.Consume); nil outside a chain.
	brake      *brake
	err        *error // shared by every operator of one chain
	emitWM     func(int64)
	emitStatus func(bool)
	emitEvent  func(Event)
	sides      map[string]any // side-output collectors by tag ID (SideOutput)
}

// NewTaskContext is called by the runtime for each operator of a subtask.
// wake asks the runtime to poll a source again soon; it may be called from
// any goroutine. errSlot is shared by the operators of one chain so that the
// runtime checks a single place after each batch.
func NewTaskContext(info TaskInfo, logger *slog.Logger, wake func(), errSlot *error) *TaskContext {
	if logger == nil {
		logger = slog.Default()
	}
	return &TaskContext{TaskInfo: info, Logger: logger, Now: time.Now, wake: wake, err: errSlot}
}

// Fail records err as the failure of this operator. The runtime stops
// processing after the current batch and fails the subtask; later calls
// keep the first error.
func (tc *TaskContext) Fail(err error) {
	if err == nil || *tc.err != nil {
		return
	}
	*tc.err = &OperatorError{Operator: tc.Operator, Subtask: tc.Subtask, Parallelism: tc.Parallelism, Err: err}
}

// Failed reports whether an operator of this chain has failed.
func (tc *TaskContext) Failed() bool { return *tc.err != nil }

// Wake asks the runtime to poll this subtask's source again. It is safe to
// call from any goroutine, any number of times.
func (tc *TaskContext) Wake() {
	if tc.wake != nil {
		tc.wake()
	}
}

// EmitWatermark sends watermark wm to the operators after this one and
// downstream. Operators that make watermarks (timestamp assigners) or hold
// them back (async I/O) call it; others let watermarks pass through
// WatermarkHandler. Outside a chain it does nothing.
func (tc *TaskContext) EmitWatermark(wm int64) {
	if tc.emitWM != nil {
		tc.emitWM(wm)
	}
}

// EmitEvent sends a control event downstream on every output channel,
// after the records emitted before it. Pipelines never need it: the
// runtime makes barriers and AssignTimestamps watermarks. It exists for
// sources written for tests, such as the testkit's source probe, which
// must place events exactly.
func (tc *TaskContext) EmitEvent(ev Event) {
	if tc.emitEvent != nil {
		tc.emitEvent(ev)
	}
}

// Backpressured reports whether the subtask's output waits for credit
// from downstream. An operator or reader that detects idleness by the
// time without records must not count such time: a backpressured source
// is not idle (as in Flink, whose idleness timer pauses while a source is
// backpressured), and announcing it idle would let downstream advance
// its watermark past the records it holds. Outside a chain: false.
func (tc *TaskContext) Backpressured() bool {
	return tc.brake != nil && tc.brake.outputFull != nil && tc.brake.outputFull()
}

// MarkIdle announces downstream that this operator's output goes idle (or
// active again), so that it does not hold back downstream watermarks while
// it has no records. The announcement passes through the operators
// chained after it, as a watermark does; a timestamp assigner among them
// keeps it (see StatusHandler).
func (tc *TaskContext) MarkIdle(idle bool) {
	if tc.emitStatus != nil {
		tc.emitStatus(idle)
	}
}

// OperatorError names the operator and subtask where a failure happened.
type OperatorError struct {
	Operator    string
	Subtask     int
	Parallelism int
	Err         error
}

func (e *OperatorError) Error() string {
	return fmt.Sprintf("operator %q subtask %d/%d: %v", e.Operator, e.Subtask+1, e.Parallelism, e.Err)
}

func (e *OperatorError) Unwrap() error { return e.Err }

// PanicError is a panic of an operator, as a failure: the value it
// panicked with and the stack where it did. The runtime fails a subtask
// with one when an operator panics (actors.PanicError is this type).
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// EndInputer is implemented by operators that act when all their input has
// ended (flush buffers, emit final results). Within a chain the runtime calls
// it from head to tail, so each operator sees its upstream's final output
// before its own end.
type EndInputer interface {
	EndInput() error
}

// Closer is implemented by operators that hold resources. Close is called
// once, when the subtask ends for any reason, including failure and cancel.
type Closer interface {
	Close() error
}
