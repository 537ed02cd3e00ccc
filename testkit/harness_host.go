package testkit

import "github.com/troupe-dev/troupe/operators"

// harnessHost is the runtime services a harness gives the operators under
// test (TaskContext.Host), standing in for the subtask actor: operators
// that need the runtime (async I/O) find here the deterministic versions
// the test drives.
//
// For async I/O it records every call the operators start instead of
// running it; the test then completes or fails them (see
// base.CompleteRequest). The operator's sequencer runs inline, on the
// test's goroutine: the same code a subtask's sequencer child actor runs,
// given the same messages in the same order — the operator's commands
// when it sends them, a reply when the test delivers it. Its releases
// reach the operator as they would in a job: the operator takes those of
// its own commands at the end of its turn, and a reply's through an
// AsyncReady to the chain's HandleMessage.
type harnessHost struct {
	calls  []harnessCall // started and not yet answered, oldest first
	actors actorSide     // actor operators' actors (harness_actorhost.go)
}

var _ operators.Host = (*harnessHost)(nil)

// harnessCall is one recorded async call and the invoker it belongs to.
type harnessCall struct {
	inv  *harnessInvoker
	call operators.AsyncCall
}

// NewAsyncInvoker implements operators.Host.
func (h *harnessHost) NewAsyncInvoker(cfg operators.AsyncInvokerConfig) (operators.AsyncInvoker, error) {
	return &harnessInvoker{host: h, seq: cfg.Sequencer}, nil
}

// harnessInvoker records the calls of one async operator, runs its
// sequencer inline and holds the sequencer's releases until the operator
// takes them.
type harnessInvoker struct {
	host     *harnessHost
	seq      operators.AsyncSequencer
	releases []any
	closed   bool
}

// Invoke implements operators.AsyncInvoker: it records call.
func (inv *harnessInvoker) Invoke(call operators.AsyncCall) {
	if !inv.closed {
		inv.host.calls = append(inv.host.calls, harnessCall{inv: inv, call: call})
	}
}

// Sequence implements operators.AsyncInvoker: the sequencer takes msg at
// once.
func (inv *harnessInvoker) Sequence(msg any) { inv.receive(msg) }

// receive gives the sequencer a message and keeps its release.
func (inv *harnessInvoker) receive(msg any) {
	if inv.closed {
		return
	}
	if rel := inv.seq.Receive(msg); rel != nil {
		inv.releases = append(inv.releases, rel)
	}
}

// Releases implements operators.AsyncInvoker.
func (inv *harnessInvoker) Releases(bool) []any {
	r := inv.releases
	inv.releases = nil
	return r
}

// Close implements operators.AsyncInvoker: the invoker's calls are
// forgotten, as a runtime cancels them, and the sequencer stops.
func (inv *harnessInvoker) Close() {
	inv.closed = true
	inv.releases = nil
	calls := inv.host.calls[:0]
	for _, c := range inv.host.calls {
		if c.inv != inv {
			calls = append(calls, c)
		}
	}
	inv.host.calls = calls
}
