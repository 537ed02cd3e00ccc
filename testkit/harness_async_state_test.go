package testkit

import (
	"slices"
	"testing"

	"github.com/troupe-dev/troupe/operators"
)

// Checklist 5: a snapshot with four records in flight, restored with
// capacity 6 and four more records, snapshotted again mid-stream: all
// eight results, in input order; the restored records are invoked again.
func TestAsync_snapshot_restoreWithMoreCapacity(t *testing.T) {
	h1 := NewHarness(t, asyncOf(operators.AsyncConfig[int, int]{Capacity: 4}))
	for v := 1; v <= 4; v++ {
		h1.ProcessElement(v, int64(v))
	}
	snap := h1.Snapshot(1)
	h2 := NewHarness(t, asyncOf(operators.AsyncConfig[int, int]{Capacity: 6}), RestoreFrom(snap))
	if h2.PendingRequests() != 4 {
		t.Fatalf("%d requests after restore, want the 4 in flight invoked again", h2.PendingRequests())
	}
	for v := 5; v <= 8; v++ {
		h2.ProcessElement(v, int64(v))
	}
	snap2 := h2.Snapshot(2)
	h2.EndInput()
	h2.RunRequests()
	want := []int{2, 4, 6, 8, 10, 12, 14, 16}
	if got := h2.Values(); !slices.Equal(got, want) {
		t.Fatalf("values %v, want %v", got, want)
	}
	h3 := NewHarness(t, asyncOf(operators.AsyncConfig[int, int]{Capacity: 6}), RestoreFrom(snap2))
	h3.EndInput()
	h3.RunRequests()
	if got := h3.Values(); !slices.Equal(got, want) {
		t.Fatalf("values after the second restore %v, want %v", got, want)
	}
}

// Checklist 13: a snapshot taken while the queue is full (input held back,
// a watermark among it) restores and finishes: all results, in order, the
// watermark in its place, no deadlock.
func TestAsync_snapshot_fullQueue(t *testing.T) {
	h1 := NewHarness(t, asyncOf(operators.AsyncConfig[int, int]{Capacity: 2}))
	h1.ProcessElement(1, 1)
	h1.ProcessElement(2, 2)
	h1.ProcessWatermark(2)
	h1.ProcessElement(3, 3)
	if !h1.Blocked() {
		t.Fatal("not blocked at capacity")
	}
	snap := h1.Snapshot(1)
	h2 := NewHarness(t, asyncOf(operators.AsyncConfig[int, int]{Capacity: 2}), RestoreFrom(snap))
	h2.EndInput()
	h2.RunRequests()
	wantOutput(t, h2, "2@1 4@2 watermark(2) 6@3 watermark(max)")
}
