package testkit

import (
	"context"
	"fmt"
	"testing"

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
// AsyncMap, up to the batch size for AsyncMapBatch. The async operator's
// input type must be the harness's; for one mid-chain of another type,
// use AsyncInputs.
func (h *Harness[In, Out]) RequestInputs(i int) []In {
	h.t.Helper()
	return AsyncInputs[In](h, i)
}

// CompleteRequest answers pending request i of an AsyncMap with the
// output records of its function's call. The async operator's output
// type must be the harness's; for one mid-chain of another type, use
// CompleteAsync.
func (h *base[Out]) CompleteRequest(i int, results ...Out) {
	h.t.Helper()
	CompleteAsync(h, i, results...)
}

// CompleteBatch answers pending request i of an AsyncMapBatch: one slice
// of output records per input of the batch, in input order. The output
// type must be the harness's; else use CompleteAsyncBatch.
func (h *base[Out]) CompleteBatch(i int, results ...[]Out) {
	h.t.Helper()
	CompleteAsyncBatch(h, i, results...)
}

// CompleteRequestRepeatedly delivers the same successful reply to pending
// request i of an AsyncMap the given number of times, as a misbehaving
// runtime or function might: the operator must emit the results once.
func (h *base[Out]) CompleteRequestRepeatedly(i, times int, results ...Out) {
	h.t.Helper()
	h.answer(i, times, "complete", completeWith([][]Out{results}))
}

// AsyncDriver is a harness with async operators: *Harness and
// *TwoInputHarness, for AsyncInputs, CompleteAsync and CompleteAsyncBatch.
type AsyncDriver interface {
	asyncCore() asyncCore
}

// asyncCore is what the typed helpers need of a harness.
type asyncCore interface {
	tb() testing.TB
	request(i int) harnessCall
	answer(i, times int, what string, reply func(operators.AsyncCall) (any, error))
}

func (h *base[Out]) asyncCore() asyncCore { return h }
func (h *base[Out]) tb() testing.TB       { return h.t }

// AsyncInputs returns the input records, of type In, of pending request i
// of the harness's async operators; the test fails if that operator's
// input is not In.
func AsyncInputs[In any](h AsyncDriver, i int) []In {
	c := h.asyncCore()
	t := c.tb()
	t.Helper()
	call := c.request(i).call
	typed, ok := call.(operators.AsyncCallInputs[In])
	if !ok {
		var zero In
		t.Fatalf("harness: request %d (%T) is not for records of type %T: use testkit.AsyncInputs with the async operator's input type", i, call, zero)
	}
	return typed.Inputs()
}

// CompleteAsync answers pending request i of an AsyncMap whose output
// type is Out with the records its function returned.
func CompleteAsync[Out any](h AsyncDriver, i int, results ...Out) {
	h.asyncCore().tb().Helper()
	h.asyncCore().answer(i, 1, "complete", completeWith([][]Out{results}))
}

// CompleteAsyncBatch answers pending request i of an AsyncMapBatch whose
// output type is Out: one slice of records per input, in input order.
func CompleteAsyncBatch[Out any](h AsyncDriver, i int, results ...[]Out) {
	h.asyncCore().tb().Helper()
	h.asyncCore().answer(i, 1, "complete", completeWith(results))
}

// completeWith makes the reply of a call whose output type is Out from
// results, one slice per input of the call.
func completeWith[Out any](results [][]Out) func(operators.AsyncCall) (any, error) {
	return func(call operators.AsyncCall) (any, error) {
		typed, ok := call.(operators.AsyncCallResults[Out])
		if !ok {
			var zero Out
			return nil, fmt.Errorf("the call (%T) does not give results of type %T: use testkit.CompleteAsync with the async operator's output type", call, zero)
		}
		return typed.Complete(results)
	}
}

// answer takes pending request i and delivers the reply that reply makes
// of it the given number of times.
func (h *base[Out]) answer(i, times int, what string, reply func(operators.AsyncCall) (any, error)) {
	h.t.Helper()
	c := h.takeRequest(i)
	r, err := reply(c.call)
	if err != nil {
		h.t.Fatalf("harness: %s request %d: %v", what, i, err)
	}
	for range times {
		h.deliver(c.inv, r, fmt.Sprintf("%s request %d", what, i))
	}
}

// FailRequest answers pending request i with the function's error err.
func (h *base[Out]) FailRequest(i int, err error) {
	h.t.Helper()
	h.answer(i, 1, "fail", func(call operators.AsyncCall) (any, error) { return call.Fail(err), nil })
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
