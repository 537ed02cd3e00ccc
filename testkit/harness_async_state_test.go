package testkit

import (
	"fmt"
	"slices"
	"testing"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/async"
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

// heldSnapshots snapshots two async subtasks of parallelism 2, each
// holding records and a watermark it has not emitted: subtask 0 r1@1
// WM10 r11@11, subtask 1 r2@2 r3@3 WM20.
func heldSnapshots(t *testing.T) (*Snapshot, *Snapshot) {
	t.Helper()
	op := asyncOf(operators.AsyncConfig[int, int]{Mode: async.Ordered, Capacity: 4})
	h0 := NewHarness(t, op, WithSubtask(0, 2))
	h0.ProcessElement(1, 1)
	h0.ProcessWatermark(10)
	h0.ProcessElement(11, 11)
	h1 := NewHarness(t, op, WithSubtask(1, 2))
	h1.ProcessElement(2, 2)
	h1.ProcessElement(3, 3)
	h1.ProcessWatermark(20)
	return h0.Snapshot(1), h1.Snapshot(1)
}

// At an unchanged parallelism each restored subtask gets back exactly its
// own pending records and watermarks, in their order, and emits them on
// its own channel: nothing moves to another subtask.
func TestAsync_restore_sameParallelism_keepsEachSubtasksOwnEntries(t *testing.T) {
	s0, s1 := heldSnapshots(t)
	op := asyncOf(operators.AsyncConfig[int, int]{Mode: async.Ordered, Capacity: 4})
	want := []string{"2@1 watermark(10) 22@11", "4@2 6@3 watermark(20)"}
	for i := range 2 {
		h := NewHarness(t, op, WithSubtask(i, 2), RestoreFrom(s0, s1))
		h.RunRequests()
		wantOutput(t, h, want[i])
	}
}

// After a rescale a restored subtask holds entries of other subtasks (or
// its own at another parallelism): it emits every record once, but none
// of the restored watermarks, which were not its own; a watermark from
// its input afterwards passes as usual.
func TestAsync_restore_rescaled_emitsNoWatermarkItDidNotHold(t *testing.T) {
	s0, s1 := heldSnapshots(t)
	op := asyncOf(operators.AsyncConfig[int, int]{Mode: async.Ordered, Capacity: 4})
	for _, par := range []int{1, 3} {
		t.Run(fmt.Sprintf("parallelism%d", par), func(t *testing.T) {
			var values []int
			for i := range par {
				h := NewHarness(t, op, WithSubtask(i, par), RestoreFrom(s0, s1))
				h.RunRequests()
				if wms := h.Watermarks(); len(wms) > 0 {
					t.Errorf("subtask %d of %d emitted restored watermarks %v (output %s)", i, par, wms, showItems(h.Output()))
				}
				values = append(values, h.Values()...)
				h.ProcessWatermark(30)
				if wms := h.Watermarks(); !slices.Equal(wms, []int64{30}) {
					t.Errorf("subtask %d of %d: watermarks %v after input watermark 30, want [30]", i, par, wms)
				}
			}
			slices.Sort(values)
			if want := []int{2, 4, 6, 22}; !slices.Equal(values, want) {
				t.Errorf("restored subtasks emitted %v, want each record once: %v", values, want)
			}
		})
	}
}
