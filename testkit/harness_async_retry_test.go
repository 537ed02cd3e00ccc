package testkit

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/async"
)

var errTransient = errors.New("transient")

// Checklist 15: retry on an empty result with a fixed delay: records whose
// function always returns nothing produce nothing after their attempts;
// the others come out, in both modes.
func TestAsync_retry_emptyResultFixedDelay(t *testing.T) {
	for _, mode := range []async.Mode{async.Ordered, async.Unordered} {
		t.Run(mode.String(), func(t *testing.T) {
			var calls atomic.Int64
			retry := async.FixedDelay(3, 10*time.Millisecond, async.RetryOnEmptyResult())
			h := NewHarness(t, func(s operators.Stream[int]) operators.Stream[int] {
				return operators.AsyncMap(s, func(_ context.Context, v int) ([]int, error) {
					calls.Add(1)
					if v%2 == 0 {
						return nil, nil
					}
					return []int{2 * v}, nil
				}, operators.AsyncConfig[int, int]{Mode: mode, Retry: retry})
			})
			for v := 1; v <= 4; v++ {
				h.ProcessElement(v, int64(v))
			}
			h.RunRequests()
			if h.Timers() != 2 || h.PendingRequests() != 0 {
				t.Fatalf("Timers %d pending %d, want 2 retries waiting", h.Timers(), h.PendingRequests())
			}
			for range 2 {
				h.AdvanceProcessingTime(10 * time.Millisecond)
				h.RunRequests()
			}
			if got := calls.Load(); got != 2+2*3 {
				t.Fatalf("%d calls, want 8 (odd once, even three times)", got)
			}
			wantOutput(t, h, "2@1 6@3")
		})
	}
}

// Exponential backoff waits initial, then twice as long, and so on.
func TestAsync_retry_exponentialDelays(t *testing.T) {
	retry := async.ExponentialBackoff(4, 10*time.Millisecond, time.Second, 2)
	h := NewHarness(t, asyncOf(operators.AsyncConfig[int, int]{Retry: retry}))
	h.ProcessElement(1, 1)
	for _, delay := range []time.Duration{10, 20, 40} {
		h.FailRequest(0, errTransient)
		h.AdvanceProcessingTime(delay*time.Millisecond - time.Nanosecond)
		if h.PendingRequests() != 0 {
			t.Fatalf("retried before %v", delay*time.Millisecond)
		}
		h.AdvanceProcessingTime(time.Nanosecond)
		if h.PendingRequests() != 1 {
			t.Fatalf("not retried after %v", delay*time.Millisecond)
		}
	}
	h.CompleteRequest(0, 2)
	wantOutput(t, h, "2@1")
}

// A predicate on the error: transient errors are retried, others fail at
// once.
func TestAsync_retry_errorPredicate(t *testing.T) {
	retry := async.FixedDelay(5, time.Millisecond, async.RetryOnError(func(err error) bool { return errors.Is(err, errTransient) }))
	h := NewHarness(t, asyncOf(operators.AsyncConfig[int, int]{Retry: retry}), ExpectFailure())
	h.ProcessElement(1, 1)
	h.FailRequest(0, errTransient)
	h.AdvanceProcessingTime(time.Millisecond)
	if h.PendingRequests() != 1 {
		t.Fatal("transient error not retried")
	}
	permanent := errors.New("permanent")
	h.FailRequest(0, permanent)
	if !errors.Is(h.Err(), permanent) {
		t.Fatalf("Err() = %v, want the permanent error", h.Err())
	}
}

// Checklist 17: a timeout shorter than the retries' total allows only the
// attempts that start before it, then the timeout handler decides.
func TestAsync_retry_timeoutCutsRetries(t *testing.T) {
	retry := async.FixedDelay(10, 10*time.Millisecond)
	cfg := operators.AsyncConfig[int, int]{Retry: retry, Timeout: 35 * time.Millisecond,
		OnTimeout: func(v int) ([]int, error) { return []int{-v}, nil }}
	h := NewHarness(t, asyncOf(cfg))
	h.ProcessElement(1, 1)
	attempts := 0
	for h.PendingRequests() > 0 {
		attempts++
		h.FailRequest(0, errTransient)
		h.AdvanceProcessingTime(10 * time.Millisecond)
	}
	if attempts != 4 { // at 0, 10, 20, 30 ms; one at 40 would start after the timeout
		t.Fatalf("%d attempts, want 4", attempts)
	}
	wantOutput(t, h, "-1@1")
}

// Checklist 12 with retries: a function that never returns is timed out,
// retries or not.
func TestAsync_retry_alwaysTimeout(t *testing.T) {
	retry := async.FixedDelay(3, time.Millisecond)
	h := NewHarness(t, asyncOf(operators.AsyncConfig[int, int]{Mode: async.Unordered, Retry: retry, Timeout: asyncTimeout}), ExpectFailure())
	h.ProcessElement(1, 1)
	h.AdvanceProcessingTime(asyncTimeout)
	if !errors.Is(h.Err(), operators.ErrAsyncTimeout) {
		t.Fatalf("Err() = %v, want ErrAsyncTimeout", h.Err())
	}
}

// At end of input, scheduled retries start at once instead of after their
// delay.
func TestAsync_retry_endInputFiresPendingRetries(t *testing.T) {
	retry := async.FixedDelay(3, time.Hour)
	h := NewHarness(t, asyncOf(operators.AsyncConfig[int, int]{Retry: retry}))
	h.ProcessElement(1, 1)
	h.ProcessElement(2, 2)
	h.FailRequest(0, errTransient)
	h.FailRequest(0, errTransient)
	h.EndInput()
	if h.PendingRequests() != 2 || !h.Blocked() {
		t.Fatalf("pending %d blocked %v after end of input, want 2 true", h.PendingRequests(), h.Blocked())
	}
	h.FailRequest(0, errTransient) // retried again at once, not in an hour
	if h.PendingRequests() != 2 {
		t.Fatalf("pending %d, want the retry started at once", h.PendingRequests())
	}
	h.RunRequests()
	wantOutput(t, h, "2@1 4@2 watermark(max)")
	if h.Blocked() {
		t.Fatal("blocked after every record left")
	}
}
