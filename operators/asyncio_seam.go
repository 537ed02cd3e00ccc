package operators

import (
	"context"
	"time"
)

// AsyncHost is implemented by the TaskContext.Host of runtimes that can run
// async I/O operators (AsyncMap, AsyncMapBatch).
//
// An async operator has three parts, all written in this package:
//
//   - the operator core, on the subtask's goroutine: it takes input,
//     counts capacity, starts calls, runs timeouts and retries, keeps the
//     ledger that snapshots are taken from, and emits what the sequencer
//     releases;
//   - the calls (AsyncCall), which the runtime runs elsewhere (invokers);
//   - the sequencer (AsyncSequencer), which the runtime runs apart from the
//     subtask: it learns from the core, in input order, which records and
//     watermarks to expect, takes the calls' replies, and releases results
//     in the order the mode allows, in batches the core then emits.
//
// The runtime decides where the calls and the sequencer run: the actors
// runtime in child actors of the subtask, the test harness inline.
type AsyncHost interface {
	// NewAsyncInvoker returns the invoker of one async operator instance,
	// running cfg.Sequencer. It is called once per operator when the
	// chain is opened, on the subtask's goroutine.
	NewAsyncInvoker(cfg AsyncInvokerConfig) (AsyncInvoker, error)
}

// AsyncInvokerConfig describes the operator an invoker serves.
type AsyncInvokerConfig struct {
	// Operator is the operator's name, for logs.
	Operator string
	// Workers is the size of the pool running the calls (for example,
	// child actors); at most Capacity calls are outstanding anyway.
	Workers int
	// Sequencer is the operator's sequencing code, for the runtime to
	// run: every message given to AsyncInvoker.Sequence and every call's
	// reply goes to its Receive, one at a time, each message from the
	// core before the replies of the calls started after it.
	Sequencer AsyncSequencer
}

// AsyncSequencer is the sequencing half of an async operator. The runtime
// calls Receive on one goroutine at a time (a child actor, or the test's
// goroutine), never on the subtask's while the subtask runs the operator
// in another goroutine.
type AsyncSequencer interface {
	// Receive handles a message from the operator core or a call's reply
	// and returns the release it causes (the results now allowed out, in
	// order), or nil. The runtime hands each release to the core, in the
	// order Receive returned them, through AsyncInvoker.Releases.
	Receive(msg any) (release any)
}

// AsyncInvoker runs the calls and the sequencer of one operator instance.
// All its methods are called on the subtask's goroutine and must not
// block.
//
// Release contract: when the sequencer returns a release, the runtime
// keeps it and makes sure the operator's HandleMessage receives an
// AsyncReady naming this invoker, after which the operator calls
// Releases(true). At most one AsyncReady per invoker is pending at a time,
// so a bounded mailbox never holds more than one per operator. Every
// started call yields exactly one reply to the sequencer unless the
// invoker is closed first.
type AsyncInvoker interface {
	// Invoke starts call and returns at once; the reply goes to the
	// sequencer.
	Invoke(call AsyncCall)
	// Sequence hands msg to the sequencer, after the messages before it
	// and before the replies of calls invoked after it.
	Sequence(msg any)
	// Releases returns the releases gathered since its last call, oldest
	// first, and forgets them. ready is true when the operator calls it
	// for an AsyncReady: the next release then posts a new one. The
	// operator may call it with false at any time, to take releases
	// early (an inline sequencer releases before Sequence returns).
	Releases(ready bool) []any
	// Close stops the sequencer and cancels the contexts of running
	// calls — before it returns, since the operator then closes the
	// user's function, which the calls may still use; later replies and
	// releases are dropped. It is safe to call twice.
	Close()
}

// AsyncReady tells the operator owning Invoker that releases wait in it.
type AsyncReady struct {
	Invoker AsyncInvoker
}

// AsyncCall is one invocation of the user's async function, for one record
// (AsyncMap) or a batch of records (AsyncMapBatch).
type AsyncCall interface {
	// Run calls the user's function with ctx and returns the reply to
	// hand to the sequencer. The runtime calls it at most once, on a
	// goroutine other than the subtask's; it recovers panics.
	Run(ctx context.Context) any
	// Deadline is when the call's context must be cancelled: the
	// record's timeout. It is zero when there is none.
	Deadline() time.Time
	// Inputs returns the records the call is for, in input order.
	Inputs() []any
	// Reply returns the reply the call gives when the function returns
	// results (one value per output record; for a batch call, one
	// []Out per input) or err. Deterministic runtimes (the test
	// harness) use it instead of Run.
	Reply(results []any, err error) (any, error)
}
