package barrier

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// alignModel is an independent model of alignment, kept as sets of the
// barriers each channel delivered rather than as the Aligner's counters.
type alignModel struct {
	mode      Mode
	delivered []map[int64]bool
	top       []int64 // newest barrier per channel, for FIFO order
	ended     []bool
	newest    int64          // newest checkpoint seen, by barrier or cancel
	done      map[int64]bool // snapshotted or given up
}

func newAlignModel(n int, mode Mode) *alignModel {
	m := &alignModel{mode: mode, delivered: make([]map[int64]bool, n), top: make([]int64, n),
		ended: make([]bool, n), done: map[int64]bool{0: true}}
	for i := range m.delivered {
		m.delivered[i] = map[int64]bool{}
	}
	return m
}

// aligning reports whether checkpoint id is being aligned: some channel
// delivered it and it was neither snapshotted nor given up.
func (m *alignModel) aligning(id int64) bool {
	if m.done[id] {
		return false
	}
	for _, d := range m.delivered {
		if d[id] {
			return true
		}
	}
	return false
}

// apply returns the Result the event must give, Block and Unblock aside,
// and the error Ignored must wrap.
func (m *alignModel) apply(e ev) Result {
	switch e.kind {
	case "barrier":
		switch {
		case m.ended[e.ch]:
			return Result{Ignored: ErrChannelEnded}
		case e.id <= m.top[e.ch]:
			return Result{Ignored: ErrBarrierOrder}
		}
		m.top[e.ch] = e.id
		m.delivered[e.ch][e.id] = true
		if e.id < m.newest || m.done[e.id] {
			return Result{Ignored: ErrStaleBarrier}
		}
		return m.settle(m.overtake(e.id))
	case "end":
		if m.ended[e.ch] {
			return Result{Ignored: ErrChannelEnded}
		}
		m.ended[e.ch] = true
		return m.settle(Result{})
	default:
		if e.id < m.newest || m.done[e.id] {
			return Result{Ignored: ErrStaleBarrier}
		}
		r := m.overtake(e.id)
		if e.id == m.newest && m.aligning(e.id) {
			r.Cancelled = e.id
		}
		m.done[e.id] = true
		return r
	}
}

// overtake makes id the newest checkpoint, giving up an older alignment.
func (m *alignModel) overtake(id int64) Result {
	var r Result
	if id > m.newest {
		if m.aligning(m.newest) {
			r.Cancelled = m.newest
		}
		m.done[m.newest] = true
		m.newest = id
	}
	return r
}

func (m *alignModel) settle(r Result) Result {
	if !m.aligning(m.newest) {
		return r
	}
	for ch, d := range m.delivered {
		if !m.ended[ch] && !d[m.newest] {
			return r
		}
	}
	r.Snapshot = m.newest
	m.done[m.newest] = true
	return r
}

// blocked is the set of channels that must be blocked now.
func (m *alignModel) blocked() []bool {
	b := make([]bool, len(m.ended))
	if m.mode != ExactlyOnce || !m.aligning(m.newest) {
		return b
	}
	for ch := range b {
		b[ch] = !m.ended[ch] && m.delivered[ch][m.newest]
	}
	return b
}

// genEvent turns two fuzz bytes into an event: mostly barriers, whose IDs
// per channel increase by one or two, as FIFO channels carrying the
// barriers of successive checkpoints do; one in eight repeats the last ID,
// to exercise the order check; now and then an end of input or a cancel.
func genEvent(op, arg byte, n int, sent []int64) ev {
	ch := int(arg) % n
	switch op % 16 {
	case 0:
		return ev{kind: "end", ch: ch}
	case 1:
		return ev{kind: "cancel", id: slices.Max(sent) + int64(arg%4) - 1}
	}
	id := sent[ch] + []int64{0, 1, 1, 1, 1, 1, 2, 2}[op>>4%8]
	sent[ch] = max(sent[ch], id)
	return ev{kind: "barrier", ch: ch, id: id}
}

func FuzzAligner(f *testing.F) {
	// Byte 0 picks channels and mode, then pairs (op, arg): 0x12 is a
	// barrier one above the channel's last, 0x62 two above, 0x00 end of
	// input, 0x01 a cancel.
	f.Add([]byte{2, 0x12, 0, 0x12, 1, 0x12, 2})                               // 3 channels, aligned
	f.Add([]byte{7, 0x12, 0, 0x12, 1, 0x62, 2, 0x12, 0, 0x12, 1})             // at-least-once
	f.Add([]byte{3, 0x12, 0, 0x00, 3, 0x12, 1, 0x12, 2, 0x01, 1, 0x12, 0})    // end, cancel
	f.Add([]byte{4, 0x12, 0, 0x62, 1, 0x12, 2, 0x12, 3, 0x12, 4, 0x62, 0, 0}) // overtaking
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		n, mode := 1+int(data[0]%5), Mode(data[0]/5%2)
		a, m := NewAligner(n, mode), newAlignModel(n, mode)
		sent := make([]int64, n)
		view := make([]bool, n) // the runtime's blocked channels, from Results
		var lastSnapshot int64
		for i := 1; i+1 < len(data); i += 2 {
			e := genEvent(data[i], data[i+1], n, sent)
			got, want := e.apply(a), m.apply(e)
			if got.Snapshot != want.Snapshot || got.Cancelled != want.Cancelled ||
				(got.Ignored == nil) != (want.Ignored == nil) || !errors.Is(got.Ignored, want.Ignored) {
				t.Fatalf("event %d %v: got %+v, model wants %+v", i/2, e, got, want)
			}
			if err := applyBlocking(view, got); err != nil {
				t.Fatalf("event %d %v: %v", i/2, e, err)
			}
			if err := checkAligned(a, m, view, got, &lastSnapshot); err != nil {
				t.Fatalf("event %d %v: %+v: %v", i/2, e, got, err)
			}
		}
	})
}

// applyBlocking applies a Result's Block and Unblock to the runtime's view,
// checking that each changes a channel's state.
func applyBlocking(view []bool, r Result) error {
	if !slices.IsSorted(r.Block) || !slices.IsSorted(r.Unblock) {
		return fmt.Errorf("Block %v or Unblock %v not ascending", r.Block, r.Unblock)
	}
	for _, ch := range r.Unblock {
		if !view[ch] {
			return fmt.Errorf("unblocks channel %d, which is not blocked", ch)
		}
		view[ch] = false
	}
	for _, ch := range r.Block {
		if view[ch] {
			return fmt.Errorf("blocks channel %d, which is blocked", ch)
		}
		view[ch] = true
	}
	return nil
}

// checkAligned checks the invariants of the package doc after an event.
func checkAligned(a *Aligner, m *alignModel, view []bool, r Result, lastSnapshot *int64) error {
	if want := m.blocked(); !slices.Equal(view, want) {
		return fmt.Errorf("blocked %v, model wants %v", view, want)
	}
	for ch, b := range view {
		switch {
		case a.Blocked(ch) != b:
			return fmt.Errorf("Blocked(%d) = %v, Results say %v", ch, a.Blocked(ch), b)
		case b && (a.Aligning() == 0 || !m.delivered[ch][a.Aligning()]):
			return fmt.Errorf("channel %d blocked without having delivered %d", ch, a.Aligning())
		case b && r.Snapshot != 0:
			return fmt.Errorf("channel %d still blocked after the snapshot", ch)
		}
	}
	if a.mode == AtLeastOnce && len(r.Block) > 0 {
		return errors.New("at-least-once blocked a channel")
	}
	if r.Snapshot == 0 {
		return nil
	}
	if r.Snapshot <= *lastSnapshot {
		return fmt.Errorf("snapshot %d after %d", r.Snapshot, *lastSnapshot)
	}
	*lastSnapshot = r.Snapshot
	for ch, d := range m.delivered {
		if !m.ended[ch] && !d[r.Snapshot] {
			return fmt.Errorf("snapshot %d before channel %d delivered it", r.Snapshot, ch)
		}
	}
	return nil
}
