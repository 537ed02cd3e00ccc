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
	unaligned map[int64]bool // checkpoints that turned unaligned
	persist   int64          // the unaligned checkpoint whose channel state is recorded; 0: none
}

func newAlignModel(n int, mode Mode) *alignModel {
	m := &alignModel{mode: mode, delivered: make([]map[int64]bool, n), top: make([]int64, n),
		ended: make([]bool, n), done: map[int64]bool{0: true}, unaligned: map[int64]bool{}}
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
	case "barrier", "priority":
		switch {
		case m.ended[e.ch]:
			return Result{Ignored: ErrChannelEnded}
		case e.id <= m.top[e.ch]:
			return Result{Ignored: ErrBarrierOrder}
		}
		m.top[e.ch] = e.id
		m.delivered[e.ch][e.id] = true
		if e.id < m.newest || (m.done[e.id] && !m.persisting(e.id)) {
			return Result{Ignored: ErrStaleBarrier}
		}
		r := m.overtake(e.id)
		if e.kind == "priority" && m.aligning(e.id) {
			m.unaligned[e.id] = true
		}
		return m.settle(r)
	case "end":
		if m.ended[e.ch] {
			return Result{Ignored: ErrChannelEnded}
		}
		m.ended[e.ch] = true
		return m.settle(Result{})
	case "switch":
		if e.id != m.newest || !m.aligning(e.id) || m.unaligned[e.id] {
			return Result{Ignored: ErrNotAligning}
		}
		m.unaligned[e.id] = true
		return m.settle(Result{})
	default:
		if e.id < m.newest || (m.done[e.id] && !m.persisting(e.id)) {
			return Result{Ignored: ErrStaleBarrier}
		}
		r := m.overtake(e.id)
		if e.id == m.newest && (m.aligning(e.id) || m.persisting(e.id)) {
			r.Cancelled = e.id
		}
		m.done[e.id], m.persist = true, 0
		return r
	}
}

// overtake makes id the newest checkpoint, giving up an older alignment
// or the recording of an older channel state.
func (m *alignModel) overtake(id int64) Result {
	var r Result
	if id > m.newest {
		if m.aligning(m.newest) || m.persisting(m.newest) {
			r.Cancelled = m.newest
		}
		m.done[m.newest], m.persist = true, 0
		m.newest = id
	}
	return r
}

func (m *alignModel) settle(r Result) Result {
	if m.aligning(m.newest) && (m.unaligned[m.newest] || m.allDelivered(m.newest)) {
		r.Snapshot = m.newest
		m.done[m.newest] = true
		if m.unaligned[m.newest] {
			r.Unaligned, m.persist = true, m.newest
			for ch := range m.delivered {
				if m.recording(ch) {
					r.Record = append(r.Record, ch)
				}
			}
		}
	}
	if m.persist != 0 && m.allDelivered(m.persist) {
		r.Persisted, m.persist = m.persist, 0
	}
	return r
}

// persisting reports whether id's channel state is being recorded.
func (m *alignModel) persisting(id int64) bool { return m.persist != 0 && m.persist == id }

// allDelivered reports whether every channel that has not ended
// delivered id.
func (m *alignModel) allDelivered(id int64) bool {
	for ch, d := range m.delivered {
		if !m.ended[ch] && !d[id] {
			return false
		}
	}
	return true
}

// recording reports whether what arrives on ch is channel state.
func (m *alignModel) recording(ch int) bool {
	return m.persist != 0 && !m.ended[ch] && !m.delivered[ch][m.persist]
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
	case 2:
		return ev{kind: "switch", id: slices.Max(sent) + int64(arg%3) - 1}
	}
	kind := "barrier"
	if op%16 >= 12 {
		kind = "priority"
	}
	id := sent[ch] + []int64{0, 1, 1, 1, 1, 1, 2, 2}[op>>4%8]
	sent[ch] = max(sent[ch], id)
	return ev{kind: kind, ch: ch, id: id}
}

func FuzzAligner(f *testing.F) {
	// Byte 0 picks channels and mode, then pairs (op, arg): 0x12 is a
	// barrier one above the channel's last, 0x62 two above, 0x00 end of
	// input, 0x01 a cancel.
	f.Add([]byte{2, 0x12, 0, 0x12, 1, 0x12, 2})                               // 3 channels, aligned
	f.Add([]byte{7, 0x12, 0, 0x12, 1, 0x62, 2, 0x12, 0, 0x12, 1})             // at-least-once
	f.Add([]byte{3, 0x12, 0, 0x00, 3, 0x12, 1, 0x12, 2, 0x01, 1, 0x12, 0})    // end, cancel
	f.Add([]byte{4, 0x12, 0, 0x62, 1, 0x12, 2, 0x12, 3, 0x12, 4, 0x62, 0, 0}) // overtaking
	f.Add([]byte{2, 0x1c, 1, 0x1c, 0, 0x12, 2, 0x1c, 0, 0x00, 1})             // unaligned: priority, then in-band
	f.Add([]byte{3, 0x12, 0, 0x02, 1, 0x1c, 1, 0x00, 2, 0x12, 3, 0x6c, 0})    // timeout switch, then a newer one
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
			if got.Snapshot != want.Snapshot || got.Cancelled != want.Cancelled || !sameUnaligned(got, want) ||
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
	for ch := range view {
		if rec := a.Recording(ch) != 0; rec != m.recording(ch) || (rec && a.Blocked(ch)) {
			return fmt.Errorf("channel %d: Recording %d, blocked %v; model says recording %v", ch, a.Recording(ch), a.Blocked(ch), m.recording(ch))
		}
	}
	if r.Persisted != 0 && !m.allDelivered(r.Persisted) {
		return fmt.Errorf("channel state of %d complete before every channel delivered it", r.Persisted)
	}
	if r.Snapshot == 0 {
		return nil
	}
	if r.Snapshot <= *lastSnapshot {
		return fmt.Errorf("snapshot %d after %d", r.Snapshot, *lastSnapshot)
	}
	*lastSnapshot = r.Snapshot
	if r.Unaligned {
		return nil // at its first barrier: the others' data is recorded
	}
	for ch, d := range m.delivered {
		if !m.ended[ch] && !d[r.Snapshot] {
			return fmt.Errorf("snapshot %d before channel %d delivered it", r.Snapshot, ch)
		}
	}
	return nil
}
