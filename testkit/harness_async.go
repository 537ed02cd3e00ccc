package testkit

import (
	"context"
	"fmt"

	"github.com/troupe-dev/troupe/operators"
)

// Async I/O through the harness: the calls of async operators
// (operators.AsyncMap, AsyncMapBatch) are recorded, not run. The test
// inspects them (PendingRequests, RequestInputs) and answers them in any
// order (CompleteRequest, FailRequest, RunRequests); timeouts, retry
// delays and batch timeouts follow the harness's manual clock
// (AdvanceProcessingTime). Requests are numbered from 0, oldest first,
// among those not yet answered; answering one renumbers the later ones.

// PendingRequests returns how many async calls wait for an answer.
func (h *base[Out]) PendingRequests() int { return len(h.host.calls) }

// RequestInputs returns the input records of pending request i: one for
// AsyncMap, up to the batch size for AsyncMapBatch.
func (h *base[Out]) RequestInputs(i int) []any {
	h.t.Helper()
	return h.request(i).call.Inputs()
}

// CompleteRequest answers pending request i with the function's results:
// for AsyncMap the output records (of the async operator's output type,
// which need not be the harness's); for AsyncMapBatch one slice of output
// records per input.
func (h *base[Out]) CompleteRequest(i int, results ...any) {
	h.t.Helper()
	h.CompleteRequestRepeatedly(i, 1, results...)
}

// CompleteRequestTyped is CompleteRequest for an AsyncMap whose output
// type is the harness's.
func (h *base[Out]) CompleteRequestTyped(i int, results ...Out) {
	h.t.Helper()
	anys := make([]any, len(results))
	for j, r := range results {
		anys[j] = r
	}
	h.CompleteRequest(i, anys...)
}

// CompleteRequestRepeatedly delivers the same successful reply to pending
// request i the given number of times, as a misbehaving runtime or
// function might: the operator must emit the results once.
func (h *base[Out]) CompleteRequestRepeatedly(i, times int, results ...any) {
	h.t.Helper()
	c := h.takeRequest(i)
	reply, err := c.call.Reply(results, nil)
	if err != nil {
		h.t.Fatalf("harness: complete request %d: %v", i, err)
	}
	for range times {
		h.deliver(c.inv, reply, fmt.Sprintf("complete request %d", i))
	}
}

// FailRequest answers pending request i with the function's error err.
func (h *base[Out]) FailRequest(i int, err error) {
	h.t.Helper()
	c := h.takeRequest(i)
	reply, rerr := c.call.Reply(nil, err)
	if rerr != nil {
		h.t.Fatalf("harness: fail request %d: %v", i, rerr)
	}
	h.deliver(c.inv, reply, fmt.Sprintf("fail request %d", i))
}

// RunRequests runs the user's function for every pending request, oldest
// first, on the test's goroutine with a background context, and delivers
// each reply as it returns. Calls started meanwhile (retries, records let
// in by freed capacity) are run too.
func (h *base[Out]) RunRequests() {
	h.t.Helper()
	for len(h.host.calls) > 0 && h.err == nil {
		c := h.takeRequest(0)
		h.deliver(c.inv, c.call.Run(context.Background()), "run request")
	}
}

// Blocked reports whether the operators refuse input now: a subtask would
// stop consuming its channels and granting credit (backpressure). The
// harness still lets the test feed input, which the operators must hold.
func (h *base[Out]) Blocked() bool { return h.chain.Blocked() }

func (h *base[Out]) request(i int) harnessCall {
	h.t.Helper()
	if i < 0 || i >= len(h.host.calls) {
		h.t.Fatalf("harness: no pending async request %d (%d pending)", i, len(h.host.calls))
	}
	return h.host.calls[i]
}

func (h *base[Out]) takeRequest(i int) harnessCall {
	h.t.Helper()
	c := h.request(i)
	h.host.calls = append(h.host.calls[:i], h.host.calls[i+1:]...)
	return c
}

// deliver hands a reply to its operator's sequencer, then the release
// to the operator through the chain, as the runtime does after a call
// returns.
func (h *base[Out]) deliver(inv *harnessInvoker, reply any, what string) {
	h.t.Helper()
	if inv.closed {
		return
	}
	inv.receive(reply)
	h.run(what, func() { h.chain.HandleMessage(operators.AsyncReady{Invoker: inv}) })
}
