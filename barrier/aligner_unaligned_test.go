package barrier

import (
	"slices"
	"testing"
)

func priority(ch int, id int64, want Result) ev { return ev{"priority", ch, id, want} }
func switchTo(id int64, want Result) ev         { return ev{"switch", 0, id, want} }

// sameUnaligned compares the fields that unaligned checkpoints add.
func sameUnaligned(got, want Result) bool {
	return got.Unaligned == want.Unaligned && got.Persisted == want.Persisted && slices.Equal(got.Record, want.Record)
}

// Unaligned checkpoints (FLIP-76): the first barrier of a checkpoint, on
// any channel, snapshots at once; the channels whose barrier has not
// come record what arrives on them until it does, and the channel state
// is complete when the last one has come (or its channel ended).
func TestAligner_unaligned(t *testing.T) {
	cases := []struct {
		name   string
		n      int
		events []ev
	}{
		{"the first priority barrier snapshots, the others end the recording", 3, []ev{
			priority(1, 1, Result{Snapshot: 1, Unaligned: true, Record: []int{0, 2}}),
			priority(0, 1, Result{}),
			priority(2, 1, Result{Persisted: 1}),
		}},
		{"one input: snapshot and channel state at once", 1, []ev{
			priority(0, 1, Result{Snapshot: 1, Unaligned: true, Persisted: 1}),
			priority(0, 2, Result{Snapshot: 2, Unaligned: true, Persisted: 2}),
		}},
		{"an ended channel records nothing", 3, []ev{
			end(2, Result{}),
			priority(0, 1, Result{Snapshot: 1, Unaligned: true, Record: []int{1}}),
			end(1, Result{Persisted: 1}),
		}},
		{"an in-band barrier of the recorded checkpoint ends its channel's recording", 2, []ev{
			priority(0, 1, Result{Snapshot: 1, Unaligned: true, Record: []int{1}}),
			barrier(1, 1, Result{Persisted: 1}),
		}},
		{"a newer barrier gives up the channel state being recorded", 3, []ev{
			priority(0, 1, Result{Snapshot: 1, Unaligned: true, Record: []int{1, 2}}),
			barrier(1, 2, Result{Cancelled: 1, Block: []int{1}}),
			barrier(2, 1, Result{Ignored: ErrStaleBarrier}),
			barrier(0, 2, Result{Block: []int{0}}),
			barrier(2, 2, Result{Snapshot: 2, Unblock: []int{0, 1}}),
		}},
		{"a priority barrier switches an aligned alignment", 3, []ev{
			barrier(0, 1, Result{Block: []int{0}}),
			priority(1, 1, Result{Snapshot: 1, Unaligned: true, Unblock: []int{0}, Record: []int{2}}),
			priority(2, 1, Result{Persisted: 1}),
		}},
		{"the alignment timeout switches to unaligned", 3, []ev{
			barrier(2, 1, Result{Block: []int{2}}),
			switchTo(1, Result{Snapshot: 1, Unaligned: true, Unblock: []int{2}, Record: []int{0, 1}}),
			switchTo(1, Result{Ignored: ErrNotAligning}),
			barrier(0, 1, Result{}),
			priority(1, 1, Result{Persisted: 1}),
			barrier(1, 2, Result{Block: []int{1}}),
		}},
		{"a switch of a checkpoint not being aligned is ignored", 2, []ev{
			switchTo(1, Result{Ignored: ErrNotAligning}),
			barrier(0, 2, Result{Block: []int{0}}),
			switchTo(1, Result{Ignored: ErrNotAligning}),
			barrier(1, 2, Result{Snapshot: 2, Unblock: []int{0}}),
		}},
		{"cancel while recording", 2, []ev{
			priority(0, 3, Result{Snapshot: 3, Unaligned: true, Record: []int{1}}),
			cancel(3, Result{Cancelled: 3}),
			priority(1, 3, Result{Ignored: ErrStaleBarrier}),
		}},
		{"stale and out-of-order priority barriers", 2, []ev{
			priority(0, 2, Result{Snapshot: 2, Unaligned: true, Record: []int{1}}),
			priority(0, 2, Result{Ignored: ErrBarrierOrder}),
			priority(1, 1, Result{Ignored: ErrStaleBarrier}),
			priority(1, 2, Result{Persisted: 2}),
			priority(1, 2, Result{Ignored: ErrBarrierOrder}),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAligner(tc.n, ExactlyOnce)
			for i, e := range tc.events {
				got := e.apply(a)
				if !sameResult(got, e.want) || !sameUnaligned(got, e.want) {
					t.Errorf("event %d %v: %+v, want %+v", i, e, got, e.want)
				}
			}
		})
	}
}

// Recording says which channels record for the checkpoint whose channel
// state is being taken; none outside of one.
func TestAligner_Recording(t *testing.T) {
	a := NewAligner(3, ExactlyOnce)
	a.OnBarrier(0, 1)
	if a.Recording(1) != 0 {
		t.Fatal("aligned: recording")
	}
	a.SwitchToUnaligned(1)
	if got := []int64{a.Recording(0), a.Recording(1), a.Recording(2)}; !slices.Equal(got, []int64{0, 1, 1}) {
		t.Fatalf("after the switch Recording = %v, want [0 1 1]", got)
	}
	if a.Persisting() != 1 {
		t.Fatalf("Persisting = %d, want 1", a.Persisting())
	}
	a.OnPriorityBarrier(1, 1)
	a.OnEndOfInput(2)
	if a.Recording(1) != 0 || a.Recording(2) != 0 || a.Persisting() != 0 {
		t.Fatalf("after every barrier: recording %d %d, persisting %d", a.Recording(1), a.Recording(2), a.Persisting())
	}
}
