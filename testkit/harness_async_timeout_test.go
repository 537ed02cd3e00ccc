package testkit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/async"
)

const asyncTimeout = 10 * time.Millisecond

// Checklist 7: with the default handler a timeout fails the subtask with
// ErrAsyncTimeout in the cause chain; a record completed in time is still
// emitted.
func TestAsync_timeout_defaultFailsSubtask(t *testing.T) {
	for _, mode := range []async.Mode{async.Ordered, async.Unordered} {
		t.Run(mode.String(), func(t *testing.T) {
			h := NewHarness(t, asyncOf(operators.AsyncConfig[int, int]{Mode: mode, Timeout: asyncTimeout}), ExpectFailure())
			h.ProcessElement(1, 1)
			h.ProcessElement(2, 2)
			h.CompleteRequest(0, 2)
			h.AdvanceProcessingTime(asyncTimeout)
			if err := h.Err(); !errors.Is(err, operators.ErrAsyncTimeout) {
				t.Fatalf("Err() = %v, want ErrAsyncTimeout", err)
			}
			wantOutput(t, h, "2@1")
		})
	}
}

// Checklist 8 and 12: a handler that completes the record avoids the
// failure, its value is emitted, and the call's late reply is ignored.
func TestAsync_timeout_handlerValueAndLateReplyIgnored(t *testing.T) {
	cfg := operators.AsyncConfig[int, int]{Timeout: asyncTimeout,
		OnTimeout: func(v int) ([]int, error) { return []int{-v}, nil }}
	h := NewHarness(t, asyncOf(cfg))
	h.ProcessElement(1, 1)
	h.ProcessElement(2, 2)
	h.AdvanceProcessingTime(asyncTimeout)
	wantOutput(t, h, "-1@1 -2@2")
	h.CompleteRequest(0, 2) // the calls return after all
	h.CompleteRequest(0, 4)
	h.EndInput()
	wantOutput(t, h, "-1@1 -2@2 watermark(max)")
}

// An error from the timeout handler fails the subtask with it.
func TestAsync_timeout_handlerError(t *testing.T) {
	boom := errors.New("boom")
	cfg := operators.AsyncConfig[int, int]{Timeout: asyncTimeout,
		OnTimeout: func(int) ([]int, error) { return nil, boom }}
	h := NewHarness(t, asyncOf(cfg), ExpectFailure())
	h.ProcessElement(1, 1)
	h.AdvanceProcessingTime(asyncTimeout)
	if !errors.Is(h.Err(), boom) {
		t.Fatalf("Err() = %v, want boom", h.Err())
	}
}

// Checklist 9: a completed record's timeout timer is gone.
func TestAsync_timeout_timersGoneAfterCompletion(t *testing.T) {
	h := NewHarness(t, asyncOf(operators.AsyncConfig[int, int]{Mode: async.Unordered, Timeout: asyncTimeout}))
	h.ProcessElement(1, 1)
	h.ProcessElement(2, 2)
	if h.Timers() != 2 {
		t.Fatalf("Timers() = %d with two records in flight, want 2", h.Timers())
	}
	h.CompleteRequest(1, 4)
	h.CompleteRequest(0, 2)
	if h.Timers() != 0 {
		t.Fatalf("Timers() = %d after completion, want 0", h.Timers())
	}
	h.AdvanceProcessingTime(time.Hour) // nothing fires
	wantOutput(t, h, "4@2 2@1")
}

// Checklist 10: a record completed just before its timeout is never also
// timed out.
func TestAsync_timeout_completedJustBefore(t *testing.T) {
	h := NewHarness(t, asyncOf(operators.AsyncConfig[int, int]{Timeout: asyncTimeout}))
	h.ProcessElement(1, 1)
	h.AdvanceProcessingTime(asyncTimeout - time.Nanosecond)
	h.CompleteRequest(0, 2)
	h.AdvanceProcessingTime(time.Nanosecond)
	h.EndInput()
	wantOutput(t, h, "2@1 watermark(max)")
}

// Checklist 11: a call's error fails the subtask at once, in every mode,
// with and without retries (once they are exhausted).
func TestAsync_error_failsSubtask(t *testing.T) {
	down := errors.New("service down")
	retry := async.FixedDelay(2, time.Millisecond)
	for _, tc := range []struct {
		name  string
		mode  async.Mode
		retry async.RetryStrategy
	}{{"ordered", async.Ordered, nil}, {"unordered", async.Unordered, nil},
		{"ordered-retry", async.Ordered, retry}, {"unordered-retry", async.Unordered, retry}} {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHarness(t, asyncOf(operators.AsyncConfig[int, int]{Mode: tc.mode, Retry: tc.retry}), ExpectFailure())
			h.ProcessElement(1, 1)
			h.ProcessElement(2, 2) // in flight ahead of nothing: the failure does not wait for it
			h.FailRequest(1, down)
			if tc.retry != nil {
				h.AdvanceProcessingTime(time.Millisecond)
				h.FailRequest(1, down)
			}
			if !errors.Is(h.Err(), down) {
				t.Fatalf("Err() = %v, want the call's error", h.Err())
			}
		})
	}
}

// OnError turns a failed call into output instead of a failure.
func TestAsync_error_handlerEmits(t *testing.T) {
	cfg := operators.AsyncConfig[int, int]{OnError: func(v int, err error) ([]int, error) { return []int{-v}, nil }}
	h := NewHarness(t, asyncOf(cfg))
	h.ProcessElement(7, 7)
	h.FailRequest(0, errors.New("nope"))
	wantOutput(t, h, "-7@7")
}

// A panic in the function fails the subtask with ErrAsyncPanic.
func TestAsync_panic_failsSubtask(t *testing.T) {
	h := NewHarness(t, func(s operators.Stream[int]) operators.Stream[int] {
		return operators.AsyncMap(s, func(_ context.Context, v int) ([]int, error) { panic("bad") },
			operators.AsyncConfig[int, int]{})
	}, ExpectFailure())
	h.ProcessElement(1, 1)
	h.RunRequests()
	if !errors.Is(h.Err(), operators.ErrAsyncPanic) {
		t.Fatalf("Err() = %v, want ErrAsyncPanic", h.Err())
	}
}
