package testkit

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/async"
)

func doubleAll(_ context.Context, vs []int) ([][]int, error) {
	out := make([][]int, len(vs))
	for i, v := range vs {
		out[i] = []int{2 * v}
	}
	return out, nil
}

func batchOf(cfg operators.AsyncConfig[int, int]) func(operators.Stream[int]) operators.Stream[int] {
	return func(s operators.Stream[int]) operators.Stream[int] { return operators.AsyncMapBatch(s, doubleAll, cfg) }
}

// Checklist 19: batched invocation flushes by size and by time.
func TestAsyncBatch_flushesBySizeAndTime(t *testing.T) {
	h := NewHarness(t, batchOf(operators.AsyncConfig[int, int]{BatchSize: 3, BatchTimeout: 5 * time.Millisecond}))
	for v := 1; v <= 4; v++ {
		h.ProcessElement(v, int64(v))
	}
	if h.PendingRequests() != 1 || !slices.Equal(h.RequestInputs(0), []int{1, 2, 3}) {
		t.Fatalf("pending %d, want one call for 1, 2, 3", h.PendingRequests())
	}
	h.AdvanceProcessingTime(5 * time.Millisecond)
	if h.PendingRequests() != 2 || !slices.Equal(h.RequestInputs(1), []int{4}) {
		t.Fatalf("pending %d, want a second call for 4 after the batch timeout", h.PendingRequests())
	}
	h.CompleteBatch(1, []int{8})
	h.CompleteBatch(0, []int{2}, []int{4}, []int{6})
	wantOutput(t, h, "2@1 4@2 6@3 8@4")
}

// A full queue sends the partial batch at once: no more records could
// come to fill it.
func TestAsyncBatch_fullQueueFlushes(t *testing.T) {
	h := NewHarness(t, batchOf(operators.AsyncConfig[int, int]{Capacity: 2, BatchSize: 8}))
	h.ProcessElement(1, 1)
	if h.PendingRequests() != 0 {
		t.Fatal("a batch of one sent before it was full or due")
	}
	h.ProcessElement(2, 2)
	if h.PendingRequests() != 1 || len(h.RequestInputs(0)) != 2 {
		t.Fatalf("pending %d, want one call of two records at capacity", h.PendingRequests())
	}
}

// A record of a batch is retried on its own, in a later batch, and end of
// input sends the last batch.
func TestAsyncBatch_retryAndEndInput(t *testing.T) {
	retry := async.FixedDelay(2, time.Millisecond, async.RetryOnEmptyResult())
	h := NewHarness(t, batchOf(operators.AsyncConfig[int, int]{Mode: async.Unordered, BatchSize: 2, Retry: retry}))
	h.ProcessElement(1, 1)
	h.ProcessElement(2, 2)
	h.ProcessElement(3, 3)
	h.CompleteBatch(0, []int{2}, nil) // 2 came back empty
	h.EndInput()                      // the retry of 2 starts at once, joining 3
	if h.PendingRequests() != 1 || !slices.Equal(h.RequestInputs(0), []int{3, 2}) {
		t.Fatalf("pending %d, want one last batch of 3 and the retried 2", h.PendingRequests())
	}
	h.RunRequests()
	got := h.Values()
	slices.Sort(got)
	if !slices.Equal(got, []int{2, 4, 6}) {
		t.Fatalf("values %v", got)
	}
}
