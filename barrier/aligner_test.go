package barrier

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// ev is one aligner event and the Result it must return.
type ev struct {
	kind string // "barrier", "end", "cancel", "expect", "priority", "switch"
	ch   int
	id   int64
	want Result
}

func barrier(ch int, id int64, want Result) ev { return ev{"barrier", ch, id, want} }
func end(ch int, want Result) ev               { return ev{"end", ch, 0, want} }
func cancel(id int64, want Result) ev          { return ev{"cancel", 0, id, want} }
func expect(id int64, want Result) ev          { return ev{"expect", 0, id, want} }

func (e ev) apply(a *Aligner) Result {
	switch e.kind {
	case "barrier":
		return a.OnBarrier(e.ch, e.id)
	case "end":
		return a.OnEndOfInput(e.ch)
	case "expect":
		return a.Expect(e.id)
	case "priority":
		return a.OnPriorityBarrier(e.ch, e.id)
	case "switch":
		return a.SwitchToUnaligned(e.id)
	default:
		return a.Cancel(e.id)
	}
}

func (e ev) String() string { return fmt.Sprintf("%s(ch %d, id %d)", e.kind, e.ch, e.id) }

// sameResult compares results, Ignored by errors.Is.
func sameResult(got, want Result) bool {
	return got.Cancelled == want.Cancelled && got.Snapshot == want.Snapshot &&
		slices.Equal(got.Block, want.Block) && slices.Equal(got.Unblock, want.Unblock) &&
		(got.Ignored == nil) == (want.Ignored == nil) && errors.Is(got.Ignored, want.Ignored)
}

func runEvents(t *testing.T, a *Aligner, events []ev) {
	t.Helper()
	for i, e := range events {
		if got := e.apply(a); !sameResult(got, e.want) {
			t.Errorf("event %d %v: %+v, want %+v", i, e, got, e.want)
		}
	}
}

func TestAligner_exactlyOnce(t *testing.T) {
	cases := []struct {
		name   string
		n      int
		events []ev
	}{
		{"three channels block until the last barrier", 3, []ev{
			barrier(1, 1, Result{Block: []int{1}}),
			barrier(0, 1, Result{Block: []int{0}}),
			barrier(2, 1, Result{Snapshot: 1, Unblock: []int{0, 1}}),
			barrier(2, 2, Result{Block: []int{2}}),
			barrier(0, 2, Result{Block: []int{0}}),
			barrier(1, 2, Result{Snapshot: 2, Unblock: []int{0, 2}}),
		}},
		{"a newer barrier cancels the pending alignment", 3, []ev{
			barrier(0, 1, Result{Block: []int{0}}),
			barrier(1, 1, Result{Block: []int{1}}),
			barrier(2, 2, Result{Cancelled: 1, Unblock: []int{0, 1}, Block: []int{2}}),
			barrier(0, 2, Result{Block: []int{0}}),
			barrier(1, 2, Result{Snapshot: 2, Unblock: []int{0, 2}}),
		}},
		{"the cancelled checkpoint's late barrier is ignored", 2, []ev{
			barrier(0, 1, Result{Block: []int{0}}),
			barrier(1, 2, Result{Cancelled: 1, Unblock: []int{0}, Block: []int{1}}),
			barrier(0, 2, Result{Snapshot: 2, Unblock: []int{1}}),
			barrier(1, 3, Result{Block: []int{1}}),
		}},
		{"a stale barrier is ignored", 2, []ev{
			barrier(0, 5, Result{Block: []int{0}}),
			barrier(1, 4, Result{Ignored: ErrStaleBarrier}),
			barrier(1, 5, Result{Snapshot: 5, Unblock: []int{0}}),
		}},
		{"out of order and after end", 2, []ev{
			barrier(0, 3, Result{Block: []int{0}}),
			barrier(0, 3, Result{Ignored: ErrBarrierOrder}),
			barrier(1, 0, Result{Ignored: ErrBarrierOrder}),
			end(1, Result{Snapshot: 3, Unblock: []int{0}}),
			end(1, Result{Ignored: ErrChannelEnded}),
			barrier(1, 4, Result{Ignored: ErrChannelEnded}),
		}},
		{"an ended channel delivered every later barrier", 3, []ev{
			end(2, Result{}),
			barrier(0, 1, Result{Block: []int{0}}),
			barrier(1, 1, Result{Snapshot: 1, Unblock: []int{0}}),
		}},
		{"the end of the last awaited channel completes the alignment", 3, []ev{
			barrier(0, 1, Result{Block: []int{0}}),
			barrier(1, 1, Result{Block: []int{1}}),
			end(2, Result{Snapshot: 1, Unblock: []int{0, 1}}),
			barrier(0, 2, Result{Block: []int{0}}),
			end(1, Result{Snapshot: 2, Unblock: []int{0}}),
			end(0, Result{}),
		}},
		{"cancel of the aligned checkpoint", 2, []ev{
			barrier(0, 1, Result{Block: []int{0}}),
			cancel(1, Result{Cancelled: 1, Unblock: []int{0}}),
			barrier(1, 1, Result{Ignored: ErrStaleBarrier}),
			cancel(1, Result{Ignored: ErrStaleBarrier}),
			barrier(1, 2, Result{Block: []int{1}}),
		}},
		{"cancel of a newer checkpoint", 2, []ev{
			barrier(0, 1, Result{Block: []int{0}}),
			cancel(3, Result{Cancelled: 1, Unblock: []int{0}}),
			barrier(1, 2, Result{Ignored: ErrStaleBarrier}),
			barrier(1, 3, Result{Ignored: ErrStaleBarrier}),
			barrier(0, 4, Result{Block: []int{0}}),
		}},
		{"single input snapshots at once", 1, []ev{
			barrier(0, 1, Result{Snapshot: 1}),
			barrier(0, 3, Result{Snapshot: 3}),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runEvents(t, NewAligner(tc.n, ExactlyOnce), tc.events)
		})
	}
}

// Expect starts the alignment of a checkpoint triggered at the subtask
// itself, because its senders have all finished and send no barrier: an
// ended channel counts as having delivered it, so the snapshot comes when
// the last channel ends, before the subtask's own end of input.
func TestAligner_Expect(t *testing.T) {
	cases := []struct {
		name   string
		mode   Mode
		events []ev
	}{
		{"snapshot at the last end of input", ExactlyOnce, []ev{
			expect(1, Result{}),
			end(0, Result{}),
			end(1, Result{Snapshot: 1}),
		}},
		{"every channel ended: at once", ExactlyOnce, []ev{
			end(0, Result{}),
			end(1, Result{}),
			expect(1, Result{Snapshot: 1}),
		}},
		{"a barrier that came in-band still blocks its channel", ExactlyOnce, []ev{
			expect(1, Result{}),
			barrier(0, 1, Result{Block: []int{0}}),
			end(1, Result{Snapshot: 1, Unblock: []int{0}}),
		}},
		{"already aligning it, or older", ExactlyOnce, []ev{
			barrier(0, 2, Result{Block: []int{0}}),
			expect(2, Result{Ignored: ErrStaleBarrier}),
			expect(1, Result{Ignored: ErrStaleBarrier}),
			end(1, Result{Snapshot: 2, Unblock: []int{0}}),
		}},
		{"a newer one cancels an older alignment", ExactlyOnce, []ev{
			barrier(0, 1, Result{Block: []int{0}}),
			expect(2, Result{Cancelled: 1, Unblock: []int{0}}),
			barrier(1, 1, Result{Ignored: ErrStaleBarrier}),
			end(1, Result{}),
			end(0, Result{Snapshot: 2}),
		}},
		{"at least once", AtLeastOnce, []ev{
			expect(1, Result{}),
			barrier(0, 1, Result{}),
			end(1, Result{Snapshot: 1}),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runEvents(t, NewAligner(2, tc.mode), tc.events)
		})
	}
}

func TestAligner_atLeastOnce(t *testing.T) {
	cases := []struct {
		name   string
		n      int
		events []ev
	}{
		{"never blocks, snapshots on the last barrier", 3, []ev{
			barrier(1, 1, Result{}),
			barrier(0, 1, Result{}),
			barrier(2, 1, Result{Snapshot: 1}),
		}},
		{"a newer barrier cancels the older one", 3, []ev{
			barrier(0, 1, Result{}),
			barrier(1, 2, Result{Cancelled: 1}),
			barrier(2, 1, Result{Ignored: ErrStaleBarrier}),
			barrier(2, 2, Result{}),
			barrier(0, 2, Result{Snapshot: 2}),
		}},
		{"ended channels", 2, []ev{
			barrier(0, 1, Result{}),
			end(1, Result{Snapshot: 1}),
			barrier(0, 2, Result{Snapshot: 2}),
		}},
		{"single input snapshots at once", 1, []ev{
			barrier(0, 1, Result{Snapshot: 1}),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runEvents(t, NewAligner(tc.n, AtLeastOnce), tc.events)
		})
	}
}

func TestAligner_accessors(t *testing.T) {
	a := NewAligner(3, ExactlyOnce)
	a.OnBarrier(1, 7)
	if a.Aligning() != 7 || !a.Blocked(1) || a.Blocked(0) || a.Channels() != 3 || a.Mode() != ExactlyOnce {
		t.Errorf("aligning %d, blocked %v %v, channels %d, mode %v",
			a.Aligning(), a.Blocked(0), a.Blocked(1), a.Channels(), a.Mode())
	}
	if ExactlyOnce.String() != "exactly-once" || AtLeastOnce.String() != "at-least-once" || Mode(9).String() != "Mode(9)" {
		t.Error("Mode.String")
	}
}

func TestNewAligner_panicsOnWiringBugs(t *testing.T) {
	cases := map[string]func(){
		"no channel":           func() { NewAligner(0, ExactlyOnce) },
		"unknown mode":         func() { NewAligner(2, Mode(7)) },
		"channel out of range": func() { NewAligner(2, ExactlyOnce).OnBarrier(2, 1) },
		"negative channel":     func() { NewAligner(2, AtLeastOnce).OnEndOfInput(-1) },
	}
	for name, f := range cases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
