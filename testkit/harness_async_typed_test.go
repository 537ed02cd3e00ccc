package testkit

import (
	"context"
	"slices"
	"testing"

	"github.com/troupe-dev/troupe/operators"
)

// The async helpers are typed by the harness (issue 18, item 7): a
// request's inputs are the harness's input type, and results are its
// output type, one value per record for AsyncMap and one slice per input
// for AsyncMapBatch.
func TestHarness_asyncHelpersAreTyped(t *testing.T) {
	h := NewHarness(t, func(s operators.Stream[int]) operators.Stream[string] {
		return operators.AsyncMap(s, func(context.Context, int) ([]string, error) { return nil, nil },
			operators.DefaultAsyncConfig[int, string]())
	})
	h.ProcessElement(7, 1)
	var in []int = h.RequestInputs(0)
	if !slices.Equal(in, []int{7}) {
		t.Fatalf("RequestInputs = %v", in)
	}
	h.CompleteRequest(0, "seven", "sieben")
	if got := h.Values(); !slices.Equal(got, []string{"seven", "sieben"}) {
		t.Fatalf("Values = %q", got)
	}

	b := NewHarness(t, func(s operators.Stream[int]) operators.Stream[int] {
		return operators.AsyncMapBatch(s, func(context.Context, []int) ([][]int, error) { return nil, nil },
			operators.AsyncConfig[int, int]{BatchSize: 2})
	})
	b.ProcessElement(1, 1)
	b.ProcessElement(2, 2)
	b.CompleteBatch(0, []int{10}, nil)
	if got := b.Values(); !slices.Equal(got, []int{10}) {
		t.Fatalf("batch Values = %v", got)
	}
}

// Async operators whose types are not the harness's, mid-chain, are
// driven with the generic helpers.
func TestHarness_asyncHelpersOfOtherTypes(t *testing.T) {
	h := NewHarness(t, func(s operators.Stream[string]) operators.Stream[string] {
		n := operators.Map(s, func(v string) int { return len(v) })
		doubled := operators.AsyncMap(n, func(context.Context, int) ([]int, error) { return nil, nil },
			operators.DefaultAsyncConfig[int, int]())
		return operators.Map(doubled, func(v int) string { return string(rune('a' + v)) })
	})
	h.ProcessElement("abc", 1)
	if in := AsyncInputs[int](h, 0); !slices.Equal(in, []int{3}) {
		t.Fatalf("AsyncInputs = %v", in)
	}
	CompleteAsync(h, 0, 1, 2)
	if got := h.Values(); !slices.Equal(got, []string{"b", "c"}) {
		t.Fatalf("Values = %q", got)
	}
	msg := failure(t, func(tb testing.TB) {
		g := NewHarness(tb, func(s operators.Stream[string]) operators.Stream[int] {
			return operators.AsyncMap(operators.Map(s, func(v string) int { return len(v) }),
				func(context.Context, int) ([]int, error) { return nil, nil }, operators.DefaultAsyncConfig[int, int]())
		})
		g.ProcessElement("abc", 1)
		g.RequestInputs(0)
	})
	wantContains(t, msg, "request 0", "int", "AsyncInputs")
}

// Results that do not fit the call — of another type, or not one slice
// per record of a batch — fail the test, naming the request.
func TestHarness_asyncResultsThatDoNotFit(t *testing.T) {
	batch := func(tb testing.TB) *Harness[int, int] {
		h := NewHarness(tb, func(s operators.Stream[int]) operators.Stream[int] {
			return operators.AsyncMapBatch(s, func(context.Context, []int) ([][]int, error) { return nil, nil },
				operators.AsyncConfig[int, int]{BatchSize: 2})
		})
		h.ProcessElement(1, 1)
		h.ProcessElement(2, 2)
		return h
	}
	msg := failure(t, func(tb testing.TB) { batch(tb).CompleteBatch(0, []int{10}) })
	wantContains(t, msg, "request 0", "1 result slices for a call of 2 records")
	msg = failure(t, func(tb testing.TB) { CompleteAsync(batch(tb), 0, "ten") })
	wantContains(t, msg, "request 0", "string", "CompleteAsync")
}
