package testkit

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/async"
)

// double is the async function of most tests; the harness runs it only in
// RunRequests, other tests answer the requests themselves.
func double(_ context.Context, v int) ([]int, error) { return []int{2 * v}, nil }

// asyncOf returns the operator under test: AsyncMap(double) with cfg.
func asyncOf(cfg operators.AsyncConfig[int, int]) func(operators.Stream[int]) operators.Stream[int] {
	return func(s operators.Stream[int]) operators.Stream[int] { return operators.AsyncMap(s, double, cfg) }
}

// feedR1R2WM2R3 feeds checklist item 1's input: r1@1, r2@2, WM2, r3@3.
func feedR1R2WM2R3(h *Harness[int, int]) {
	h.ProcessElement(1, 1)
	h.ProcessElement(2, 2)
	h.ProcessWatermark(2)
	h.ProcessElement(3, 3)
}

// Checklist 1: ordered mode keeps input order and the watermark's place,
// whatever order the calls complete in.
func TestAsync_ordered_keepsInputOrderAndWatermark(t *testing.T) {
	h := NewHarness(t, asyncOf(operators.AsyncConfig[int, int]{Mode: async.Ordered, Capacity: 2}))
	feedR1R2WM2R3(h)
	if h.PendingRequests() != 2 || !h.Blocked() {
		t.Fatalf("pending %d blocked %v, want 2 true (capacity 2)", h.PendingRequests(), h.Blocked())
	}
	h.CompleteRequest(1, 4) // r2 first: waits for r1
	wantOutput(t, h, "")
	h.CompleteRequest(0, 2)
	wantOutput(t, h, "2@1 4@2 watermark(2)")
	h.CompleteRequest(0, 6) // r3 was let in when slots freed
	wantOutput(t, h, "2@1 4@2 watermark(2) 6@3")
	if h.Blocked() {
		t.Fatal("still blocked with an empty queue")
	}
}

// Checklist 2: unordered mode lets records overtake each other but never
// a watermark.
func TestAsync_unordered_neverCrossesWatermark(t *testing.T) {
	h := NewHarness(t, asyncOf(operators.AsyncConfig[int, int]{Mode: async.Unordered, Capacity: 2}))
	feedR1R2WM2R3(h)
	h.CompleteRequest(1, 4)
	wantOutput(t, h, "4@2")
	h.CompleteRequest(0, 2)
	wantOutput(t, h, "4@2 2@1 watermark(2)")
	h.CompleteRequest(0, 6)
	wantOutput(t, h, "4@2 2@1 watermark(2) 6@3")
}

// A watermark with nothing in flight passes at once; one behind records
// waits for them.
func TestAsync_ProcessWatermark_passesWhenIdle(t *testing.T) {
	h := NewHarness(t, asyncOf(operators.AsyncConfig[int, int]{Mode: async.Unordered}))
	h.ProcessWatermark(1)
	h.ProcessElement(5, 5)
	h.ProcessWatermark(6)
	wantOutput(t, h, "watermark(1)")
	h.RunRequests()
	wantOutput(t, h, "watermark(1) 10@5 watermark(6)")
}

// Checklist 3: more records than capacity all come out, the operator
// blocks its input while full (as the runtime sees it) and drops nothing.
func TestAsync_capacity_blocksAndDropsNothing(t *testing.T) {
	for _, mode := range []async.Mode{async.Ordered, async.Unordered} {
		t.Run(mode.String(), func(t *testing.T) {
			h := NewHarness(t, asyncOf(operators.AsyncConfig[int, int]{Mode: mode, Capacity: 3}))
			blocked := 0
			for v := 1; v <= 20; {
				if h.Blocked() { // a subtask stops consuming here
					blocked++
					last := h.PendingRequests() - 1 // newest first
					h.CompleteRequest(last, 2*h.RequestInputs(last)[0])
					continue
				}
				h.ProcessElement(v, int64(v))
				if h.PendingRequests() > 3 {
					t.Fatalf("%d requests in flight, capacity 3", h.PendingRequests())
				}
				v++
			}
			h.EndInput()
			h.RunRequests()
			got := h.Values()
			slices.Sort(got)
			want := make([]int, 20)
			for i := range want {
				want[i] = 2 * (i + 1)
			}
			if !slices.Equal(got, want) || blocked == 0 || h.Blocked() {
				t.Fatalf("values %v, blocked %d times, blocked now %v", got, blocked, h.Blocked())
			}
		})
	}
}

// Records fed while blocked (the rest of a batch) are held, not dropped,
// and the watermark among them keeps its place.
func TestAsync_overflow_keepsOrderWithWatermarks(t *testing.T) {
	h := NewHarness(t, asyncOf(operators.AsyncConfig[int, int]{Capacity: 1}))
	h.ProcessElement(1, 1)
	h.ProcessWatermark(1)
	h.ProcessElement(2, 2)
	h.ProcessWatermark(2)
	h.ProcessElement(3, 3)
	h.EndInput()
	h.RunRequests()
	wantOutput(t, h, "2@1 watermark(1) 4@2 watermark(2) 6@3 watermark(max)")
}

// Checklist 4: async(ordered) → map → async(unordered) in one subtask.
func TestAsync_chain_orderedMapUnordered(t *testing.T) {
	h := NewHarness(t, func(s operators.Stream[int]) operators.Stream[int] {
		a := operators.AsyncMap(s, double, operators.AsyncConfig[int, int]{Capacity: 2})
		m := operators.Map(a, func(v int) int { return v + 1 })
		return operators.AsyncMap(m, double, operators.AsyncConfig[int, int]{Mode: async.Unordered, Capacity: 2})
	})
	for v := 1; v <= 5; v++ {
		h.ProcessElement(v, int64(v))
	}
	h.EndInput()
	h.RunRequests()
	got := h.Values()
	slices.Sort(got)
	if want := []int{6, 10, 14, 18, 22}; !slices.Equal(got, want) {
		t.Fatalf("values %v, want %v", got, want)
	}
}

// Checklist 16: a reply delivered ten times yields one output.
func TestAsync_CompleteRequestRepeatedly_emitsOnce(t *testing.T) {
	h := NewHarness(t, asyncOf(operators.AsyncConfig[int, int]{Mode: async.Unordered}))
	h.ProcessElement(1, 1)
	h.CompleteRequestRepeatedly(0, 10, 2)
	h.EndInput()
	wantOutput(t, h, "2@1 watermark(max)")
}

// Checklist 19: key-ordered mode keeps order within a key only.
func TestAsync_keyOrdered_ordersWithinKey(t *testing.T) {
	h := NewHarness(t, asyncOf(operators.AsyncConfig[int, int]{Mode: async.KeyOrdered,
		Key: func(v int) uint64 { return uint64(v % 2) }}))
	for v := 1; v <= 4; v++ {
		h.ProcessElement(v, int64(v))
	}
	h.CompleteRequest(2, 6) // r3: waits for r1, same key
	h.CompleteRequest(2, 8) // r4: waits for r2
	wantOutput(t, h, "")
	h.CompleteRequest(1, 4) // r2 then r4 leave, ahead of key 1
	wantOutput(t, h, "4@2 8@4")
	h.CompleteRequest(0, 2)
	wantOutput(t, h, "4@2 8@4 2@1 6@3")
}

// Key-ordered mode without a key function is a build error naming Key.
func TestAsync_config_keyOrderedNeedsKey(t *testing.T) {
	p := operators.NewPipeline("p")
	s := operators.AsyncMap(operators.FromSlice(p, []int{1}), double,
		operators.AsyncConfig[int, int]{Mode: async.KeyOrdered})
	operators.Discard(s)
	if _, err := p.Build(); err == nil || !strings.Contains(err.Error(), "Key") {
		t.Fatalf("Build error %v, want one naming Key", err)
	}
}
