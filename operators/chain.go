package operators

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/troupe-dev/troupe/watermark"
)

// ChainConfig is what the runtime supplies to open a subtask's chain.
type ChainConfig struct {
	Job       string
	Run       string // the job run's id (see TaskInfo.Run)
	Subtask   int
	Attempt   int
	BatchSize int // records per batch on output channels
	// BatchBytes caps a batch in bytes as well: a stream's batches hold
	// at most BatchBytes / the size of its record type (its Go value;
	// what a record points to, such as a string's bytes, is not
	// counted), at least one record. 0: no cap.
	BatchBytes int
	Ship       Shipper
	Logger     *slog.Logger
	Wake       func()           // see TaskContext.Wake
	Now        func() time.Time // nil: time.Now
	Host       Host             // runtime services for runtime-specific operators (see Host)
	Faults     FaultInjector    // nil in production: tests inject failures
	// OutputFull reports whether the subtask's output waits for credit
	// from downstream; only shipping can make it true. The chain calls
	// it when the runtime enters it (Consume, Resume, a source's poll)
	// and after each batch or event it ships, and stops before the next
	// record of an input batch or of a source's poll while it is true,
	// keeping the rest for Resume: so what waits for credit stays within
	// about one record's output, whatever an operator emits per record.
	// nil: the output is never full.
	OutputFull func() bool
	// Urgent reports whether the runtime has urgent mail (a priority
	// barrier of an unaligned checkpoint, an alignment timeout) that it
	// must read before the chain goes on. The chain asks it every few
	// records (yieldEvery) while it feeds an input batch in, and stops
	// between two records when it is true, holding the rest for Resume
	// exactly as when the output is full: a slow operator's batch then
	// holds a barrier back for a few records only. (A source's poll is
	// not asked: the runtime reads its mailbox between two polls.) It is
	// called on the subtask's goroutine. nil: never.
	Urgent func() bool
	// Checkpointing tells operators that checkpoints are on, so that sinks
	// commit on checkpoint completion (two-phase commit) rather than at
	// once.
	Checkpointing bool
	// Restore holds, by operator name, the state parts this subtask owns
	// after a failure or from a savepoint; nil for a fresh start.
	Restore map[string][]*OperatorState
	// StateBackend and StateDir choose the keyed state backend (see
	// TaskContext).
	StateBackend string
	StateDir     string
	// StateCacheEntries and MaxAsyncCapacity bound what keyed operators
	// and async operators hold in memory (see TaskContext).
	StateCacheEntries int
	MaxAsyncCapacity  int
}

// FaultInjector is called by a chain at the points where tests make
// operators fail (see testkit's pipeline runner). It may panic or call
// TaskContext-independent code; it is called on the subtask's goroutine.
type FaultInjector interface {
	// BeforeRecord runs before the operator handles a record (for a source:
	// before it emits one).
	BeforeRecord(op TaskInfo)
}

// FaultPoint is a lifecycle hook of an operator, other than a record, where
// a fault can be injected.
type FaultPoint int

const (
	// FaultSnapshot: before an operator with state (a Snapshotter)
	// snapshots it.
	FaultSnapshot FaultPoint = iota + 1
	// FaultRestore: before an operator restores the state it is given.
	FaultRestore
	// FaultOpen: before an operator is opened.
	FaultOpen
	// FaultNotifyComplete: before an operator is told that a checkpoint
	// is complete (every operator, listener or not, as in Flink).
	FaultNotifyComplete
	// FaultEndInput: before an operator is ended, once its input has.
	FaultEndInput
	// FaultClose: as an operator's Close returns (after it, so that the
	// fault leaves nothing open).
	FaultClose
	// FaultFinalCommit: before an operator that listens for checkpoint
	// completions is told that the whole job has finished (EndOfJob),
	// where two-phase-commit sinks commit their last epoch; the job's
	// final checkpoint is complete by then. A fault there is a crash
	// between the final checkpoint and the final commit.
	FaultFinalCommit
)

// String names the hook, as in "end-input".
func (p FaultPoint) String() string {
	names := map[FaultPoint]string{FaultSnapshot: "snapshot", FaultRestore: "restore", FaultOpen: "open",
		FaultNotifyComplete: "notify-complete", FaultEndInput: "end-input", FaultClose: "close", FaultFinalCommit: "final commit"}
	if n, ok := names[p]; ok {
		return n
	}
	return fmt.Sprintf("FaultPoint(%d)", int(p))
}

// PointFaultInjector is implemented by fault injectors that also fail an
// operator's lifecycle hooks (the FaultPoints). At may panic or return an
// error; either fails the hook as if the operator had.
type PointFaultInjector interface {
	At(point FaultPoint, op TaskInfo) error
}

// Chain is one subtask's opened operators. All its methods are called from
// the subtask's goroutine.
type Chain struct {
	// Source is set when the chain starts with a source.
	Source  SourceRunner
	consume []batchConsumer // by input channel
	held    heldBatch       // the input batch the chain stopped in (Consume)
	router  flushCollector  // every output router (see openRouters)
	hooks   []any           // operator values, head first
	err     error
	lens    []func(any) int
	outLens []func(any) int // batch lengths, by output stream type
	valve   inputValve      // over the input channels; nil for sources
	wm      int64           // the chain's input watermark
	names   []string        // operator names, head first
	info    TaskInfo        // the subtask (Operator unset)
	faults  FaultInjector
	endNext int  // EndInput's progress: the next operator to end
	opened  int  // operators opened: the last ones of hooks (Open goes tail first)
	closed  bool // Close was called

	sink  interface{ Written() int64 } // the tail's record count, if it is a sink
	outWM int64                        // the last watermark emitted downstream

	// brake says whether to stop between two records (see Consume)
	brake brake
}

// Open instantiates the vertex's operators for one subtask, tail first, so
// each operator is handed its downstream collector.
func (v *Vertex) Open(cfg ChainConfig) (*Chain, error) {
	c := &Chain{wm: MinWatermark, outWM: MinWatermark, names: v.Operators(), faults: cfg.Faults,
		info: TaskInfo{Job: cfg.Job, Run: cfg.Run, Subtask: cfg.Subtask, Parallelism: v.Parallelism, MaxParallelism: v.MaxParallelism, Attempt: cfg.Attempt}}
	defer func() {
		// An operator that panics while opening or restoring fails the
		// subtask; the operators opened so far hold resources (files)
		// that no one else would release.
		if r := recover(); r != nil {
			if err := c.Close(); err != nil && cfg.Logger != nil {
				cfg.Logger.Warn("closing the operators of a chain that failed to open", "err", err)
			}
			panic(r)
		}
	}()
	c.brake = brake{outputFull: cfg.OutputFull, urgent: cfg.Urgent}
	if cfg.OutputFull != nil {
		cfg.Ship = watchedShipper{Shipper: cfg.Ship, b: &c.brake}
	}
	out, sides := c.openRouters(v, cfg)
	var inst *instance
	c.hooks = make([]any, len(v.nodes))
	for i := len(v.nodes) - 1; i >= 0; i-- {
		n := v.nodes[i]
		tc := c.taskContext(v, n, cfg)
		tc.sides = sides[n]
		c.bindEmitters(tc, i)
		if cfg.Faults != nil && n.kind == kindSource {
			out = n.out.tap(out, func() { cfg.Faults.BeforeRecord(tc.TaskInfo) })
		}
		var err error
		if inst, err = c.openOperator(i, n, tc, out); err != nil {
			return nil, c.abandon(err)
		}
		c.hooks[i] = inst.hooks
		if inst.written != nil {
			c.sink = inst.written
		}
		c.opened++
		if cfg.Faults != nil {
			tapInputs(n, inst, i, v.nodes, func() { cfg.Faults.BeforeRecord(tc.TaskInfo) })
		}
		if i > 0 {
			out = inst.inputs[0]
		}
	}
	c.Source = inst.source
	chans := v.InputChannels(cfg.Subtask)
	for _, ch := range chans {
		st := ch.Edge.e.stream()
		c.consume = append(c.consume, st.consumer(inst.inputs[ch.Edge.Input], &c.brake))
		c.lens = append(c.lens, st.batchLen)
	}
	if len(chans) > 0 {
		c.valve = newInputValve(v.nodes[0], chans)
	}
	if err := c.restore(cfg.Restore); err != nil {
		return nil, c.abandon(err)
	}
	return c, nil
}

// openOperator opens the chain's i-th operator.
func (c *Chain) openOperator(i int, n *node, tc *TaskContext, out any) (*instance, error) {
	err := c.injectAt(FaultOpen, i)
	var inst *instance
	if err == nil {
		inst, err = n.open(tc, out)
	}
	if err != nil {
		return nil, c.opError(i, fmt.Errorf("open: %w", err))
	}
	return inst, nil
}

// abandon closes the operators of a chain that failed to open and returns
// err joined with what closing them reported, which is never dropped.
func (c *Chain) abandon(err error) error { return errors.Join(err, c.Close()) }

// inputValve combines the watermarks and statuses of a subtask's input
// channels: a watermark.Valve or, for a two-input operator, a
// watermark.InputValves.
type inputValve interface {
	Watermark(ch int, wm int64) (int64, bool)
	SetIdle(ch int, idle bool) watermark.Change
}

// newInputValve returns one valve over every channel, or for a head with
// several logical inputs (connected streams, interval joins) one per
// input combined as Flink's CombinedWatermarkStatus: the catch-up rule
// of a valve holds among the channels of one input, never between
// inputs. A union is one input, however many streams it merges.
func newInputValve(head *node, chans []Channel) inputValve {
	if !head.multiInput {
		return watermark.NewValve(len(chans))
	}
	inputOf := make([]int, len(chans))
	for i, ch := range chans {
		inputOf[i] = ch.Edge.Input
	}
	return watermark.NewInputValves(inputOf)
}

// tapInputs wraps the input collectors of the chain's i-th operator. The
// head's inputs are typed by their edges: an edge that carries a side
// output has the side output's type, not its producer's main output type.
func tapInputs(n *node, inst *instance, i int, nodes []*node, before func()) {
	for j, in := range inst.inputs {
		typ := nodes[max(i-1, 0)].out
		if i == 0 {
			typ = n.inputs[j].stream()
		}
		inst.inputs[j] = typ.tap(in, before)
	}
}

func (c *Chain) taskContext(v *Vertex, n *node, cfg ChainConfig) *TaskContext {
	info := TaskInfo{Job: cfg.Job, Run: cfg.Run, Operator: n.name, Subtask: cfg.Subtask, Parallelism: v.Parallelism,
		MaxParallelism: v.MaxParallelism, Attempt: cfg.Attempt}
	tc := NewTaskContext(info, cfg.Logger, cfg.Wake, &c.err)
	if cfg.Now != nil {
		tc.Now = cfg.Now
	}
	tc.Host = cfg.Host
	tc.brake = &c.brake
	tc.Checkpointing = cfg.Checkpointing
	tc.StateBackend, tc.StateDir = cfg.StateBackend, cfg.StateDir
	tc.StateCacheEntries, tc.MaxAsyncCapacity = cfg.StateCacheEntries, cfg.MaxAsyncCapacity
	return tc
}

// BatchLen returns the number of records in a batch from channel ch.
func (c *Chain) BatchLen(ch int, batch any) int { return c.lens[ch](batch) }

// OutLen returns the number of records in a batch the chain shipped, on
// its main output or a side output.
func (c *Chain) OutLen(batch any) int {
	for _, l := range c.outLens {
		if n := l(batch); n >= 0 {
			return n
		}
	}
	return 0
}

// Buffered reports whether an output batch may be partly filled, so that
// the runtime arms its buffer timer.
func (c *Chain) Buffered() bool { return c.router != nil && c.router.Buffered() }

// Err returns the first failure an operator of the chain reported.
func (c *Chain) Err() error { return c.err }

// Blocked reports whether an operator cannot take more input now (for
// example an operator waiting for replies from its actors). After EndInput
// the runtime waits until no operator is blocked before finishing.
//
// A chain whose operators hold output (Pending) is not blocked: the
// runtime must resume it, which lets that output out, whatever input an
// operator could take.
func (c *Chain) Blocked() bool {
	if c.operatorsHolding() {
		return false
	}
	for _, h := range c.hooks {
		if b, ok := h.(Blocker); ok && b.Blocked() {
			return true
		}
	}
	return false
}

// BatchEnd tells operators that a batch was processed (sinks flush here).
func (c *Chain) BatchEnd() {
	for _, h := range c.hooks {
		if b, ok := h.(BatchEnder); ok {
			b.BatchEnd()
		}
	}
}

// HandleMessage offers a runtime message to the operators; it reports
// whether one of them took it.
func (c *Chain) HandleMessage(msg any) bool {
	c.brake.refresh() // an operator may emit: async I/O's results
	for _, h := range c.hooks {
		if m, ok := h.(MessageHandler); ok && m.HandleMessage(msg) {
			return true
		}
	}
	return false
}

// EndInput ends the operators head to tail; the runtime then flushes.
// The input watermark first advances to MaxWatermark, so every event-time
// timer fires before the operators end, as when a bounded source ends.
//
// Operators that hold output the final watermark fired (Pending) are
// ended only once it is out, when the runtime calls EndInput again. An
// operator still Blocked after its EndInput (async I/O waiting for
// replies) has output to come: the operators after it are ended only
// later, when the runtime calls EndInput again once it is no longer
// blocked. Ended reports when all are.
func (c *Chain) EndInput() error {
	c.brake.refresh()
	if c.wm < MaxWatermark && c.err == nil {
		c.advance(MaxWatermark)
	}
	if c.operatorsHolding() {
		return c.err // timers the final watermark fired wait for credit (Pending): end later
	}
	for c.endNext < len(c.hooks) && c.err == nil {
		if c.endNext > 0 && blocked(c.hooks[c.endNext-1]) {
			return nil // its output is not all out yet: end the next one later
		}
		c.endNext++
		if err := c.endOperator(c.endNext - 1); err != nil {
			return err
		}
	}
	return c.err
}

// endOperator ends the chain's i-th operator.
func (c *Chain) endOperator(i int) error {
	err := c.injectAt(FaultEndInput, i)
	if e, ok := c.hooks[i].(EndInputer); ok && err == nil {
		err = e.EndInput()
	}
	if err != nil {
		return c.opError(i, fmt.Errorf("end input: %w", err))
	}
	return nil
}

func blocked(h any) bool {
	b, ok := h.(Blocker)
	return ok && b.Blocked()
}

// MarkEnded records the chain as ended without ending its operators: it
// was restored from a checkpoint taken after its end, which it must not
// repeat (its output is already in that checkpoint). Operators that must
// know (EndMarker) are told.
func (c *Chain) MarkEnded() {
	c.wm = MaxWatermark
	c.endNext = len(c.hooks)
	for _, h := range c.hooks {
		if m, ok := h.(EndMarker); ok {
			m.MarkEnded()
		}
	}
}

// EndMarker is implemented by operators that must know they were
// restored ended (Chain.MarkEnded): their input ended in an earlier
// attempt, EndInput is not called again, and they must not act as if
// more input could come — an actor operator fires no processing-time
// timers then, as after its end of input.
type EndMarker interface {
	MarkEnded()
}

// Ended reports whether every operator has been ended by EndInput and
// none holds output any more (Pending): an operator may hold what it
// emits at its end (async I/O's last results) for credit, and until that
// is out the subtask must not end — its end of input would overtake it,
// and a checkpoint would be one of a finished subtask without it.
func (c *Chain) Ended() bool { return c.endNext >= len(c.hooks) && !c.operatorsHolding() }

// Flush ships every partly filled output batch.
func (c *Chain) Flush() {
	if c.router != nil {
		c.router.Flush()
	}
}

// Close closes every operator, head to tail, then the source's reader,
// whatever each of them does: it returns their errors joined, each naming
// its operator, and a Close that panics is one of them (a *PanicError), so
// that the others are still closed and the runtime's stop always ends.
// Close is safe to call more than once.
func (c *Chain) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	var errs []error
	for i := len(c.hooks) - c.opened; i < len(c.hooks); i++ {
		errs = append(errs, c.closeOperator(i))
	}
	if c.Source != nil {
		errs = append(errs, c.closeHook(0, c.Source.Close))
		c.Source = nil
	}
	return errors.Join(errs...)
}

// closeOperator closes operator i, then lets a test's close fault fire.
func (c *Chain) closeOperator(i int) error {
	h := c.hooks[i]
	c.hooks[i] = nil
	var err error
	if cl, ok := h.(Closer); ok {
		err = c.closeHook(i, cl.Close)
	}
	return errors.Join(err, c.closeHook(i, func() error { return c.injectAt(FaultClose, i) }))
}

// closeHook runs fn, a part of closing operator i, and names the operator
// in its error; a panic becomes a *PanicError.
func (c *Chain) closeHook(i int, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
		if err != nil {
			err = c.opError(i, fmt.Errorf("close: %w", err))
		}
	}()
	return fn()
}

// Blocker is implemented by operators that sometimes cannot take input.
type Blocker interface {
	Blocked() bool
}

// BatchEnder is implemented by operators that act after each input batch.
type BatchEnder interface {
	BatchEnd()
}

// MessageHandler is implemented by runtime-specific operators that receive
// messages other than batches (replies from their own actors).
type MessageHandler interface {
	HandleMessage(msg any) bool
}
