package testkit

import "github.com/troupe-dev/troupe/operators"

// harnessHost is the runtime services a harness gives the operators under
// test (TaskContext.Host), standing in for the subtask actor: operators
// that need the runtime (async I/O) find here the deterministic versions
// the test drives.
//
// For async I/O it records every call the operators start instead of
// running it; the test then completes or fails them (see
// base.CompleteRequest), and the reply reaches the operator as it would in
// a job: through the chain's HandleMessage, on the test's goroutine.
type harnessHost struct {
	calls []harnessCall // started and not yet answered, oldest first
}

var _ operators.AsyncHost = (*harnessHost)(nil)

// harnessCall is one recorded async call and the invoker it belongs to.
type harnessCall struct {
	inv  *harnessInvoker
	call operators.AsyncCall
}

// NewAsyncInvoker implements operators.AsyncHost.
func (h *harnessHost) NewAsyncInvoker(operators.AsyncInvokerConfig) (operators.AsyncInvoker, error) {
	return &harnessInvoker{host: h}, nil
}

// harnessInvoker records the calls of one async operator and holds the
// replies the test gives until the operator takes them.
type harnessInvoker struct {
	host    *harnessHost
	replies []any
	closed  bool
}

// Invoke implements operators.AsyncInvoker: it records call.
func (inv *harnessInvoker) Invoke(call operators.AsyncCall) {
	if !inv.closed {
		inv.host.calls = append(inv.host.calls, harnessCall{inv: inv, call: call})
	}
}

// Replies implements operators.AsyncInvoker.
func (inv *harnessInvoker) Replies() []any {
	r := inv.replies
	inv.replies = nil
	return r
}

// Close implements operators.AsyncInvoker: the invoker's calls are
// forgotten, as a runtime cancels them.
func (inv *harnessInvoker) Close() {
	inv.closed = true
	inv.replies = nil
	calls := inv.host.calls[:0]
	for _, c := range inv.host.calls {
		if c.inv != inv {
			calls = append(calls, c)
		}
	}
	inv.host.calls = calls
}
