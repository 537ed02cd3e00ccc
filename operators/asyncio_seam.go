package operators

import (
	"context"
	"time"
)

// AsyncHost is implemented by the TaskContext.Host of runtimes that can run
// async I/O operators (AsyncMap, AsyncMapBatch). The operator core, which
// sequences results, counts capacity, and handles timeouts and retries,
// lives in this package and runs on the subtask's goroutine; the runtime
// only runs the user's calls elsewhere and hands their replies back.
type AsyncHost interface {
	// NewAsyncInvoker returns the invoker of one async operator instance.
	// It is called once per operator when the chain is opened, on the
	// subtask's goroutine.
	NewAsyncInvoker(cfg AsyncInvokerConfig) (AsyncInvoker, error)
}

// AsyncInvokerConfig describes the operator an invoker serves.
type AsyncInvokerConfig struct {
	// Operator is the operator's name, for logs.
	Operator string
	// Workers is the size of the pool running the calls (for example,
	// child actors); at most Capacity calls are outstanding anyway.
	Workers int
}

// AsyncInvoker runs the async calls of one operator instance. All its
// methods are called on the subtask's goroutine and must not block.
//
// Reply contract: when a call's Run returns, the runtime keeps the value
// it returned and makes sure the operator's HandleMessage receives an
// AsyncReady naming this invoker, after which the operator calls Replies.
// At most one AsyncReady per invoker need be pending at a time, so a
// bounded mailbox never holds more than one per operator. Every started
// call yields exactly one reply unless the invoker is closed first.
type AsyncInvoker interface {
	// Invoke starts call and returns at once.
	Invoke(call AsyncCall)
	// Replies returns the replies gathered since its last call, in the
	// order the calls returned, and forgets them.
	Replies() []any
	// Close cancels the contexts of running calls and stops the workers;
	// replies not yet taken are dropped. It is safe to call twice.
	Close()
}

// AsyncReady tells the operator owning Invoker that replies wait in it.
type AsyncReady struct {
	Invoker AsyncInvoker
}

// AsyncCall is one invocation of the user's async function, for one record
// (AsyncMap) or a batch of records (AsyncMapBatch).
type AsyncCall interface {
	// Run calls the user's function with ctx and returns the reply to
	// hand back to the operator. The runtime calls it at most once, on a
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
