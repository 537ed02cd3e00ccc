package window

import (
	"math"
	"slices"
	"testing"
)

// FuzzAssign checks every assigner on any timestamp and any valid
// parameters, down to the int64 limits: each window contains ts, starts
// on a period boundary (unless its start saturated), is size long (unless
// an end saturated), the windows are distinct, and a sliding assigner
// returns size/slide of them (the floor or ceiling when slide does not
// divide size). Invalid parameters must be refused.
func FuzzAssign(f *testing.F) {
	f.Add(int64(7), int64(10), int64(5), int64(0), false)
	f.Add(int64(-1), int64(10), int64(3), int64(-2), true)
	f.Add(int64(math.MinInt64), int64(7), int64(7), int64(6), false)
	f.Add(int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64/3), int64(-1), true)
	f.Add(int64(3), int64(5), int64(10), int64(0), false)
	f.Fuzz(func(t *testing.T, ts, size, slide, offset int64, reduce bool) {
		if reduce && slide > 0 {
			offset %= slide // mostly valid offsets
		}
		if a, err := tumblingMillis(size, offset%max(size, 1), true); err == nil {
			checkAssigned(t, a.Assign(ts, nil), ts, size, size, offset%size, 1, 1)
			s := SessionAssigner{gap: size, eventTime: true}
			checkAssigned(t, s.Assign(ts, nil), ts, size, size, ts%size, 1, 1)
		} else if size > 0 {
			t.Fatalf("Tumbling(%d) refused: %v", size, err)
		}
		a, err := slidingMillis(size, slide, offset, true)
		if err != nil {
			if size > 0 && slide > 0 && offset > -slide && offset < slide {
				t.Fatalf("Sliding(%d, %d).WithOffset(%d) refused: %v", size, slide, offset, err)
			}
			return
		}
		if size/slide > 1000 {
			return // too many windows to check quickly
		}
		checkAssigned(t, a.Assign(ts, nil), ts, size, slide, offset, size/slide, (size-1)/slide+1)
	})
}

// checkAssigned checks windows assigned to ts by an assigner of size,
// period and offset that must return between lo and hi windows.
func checkAssigned(t *testing.T, ws []Window, ts, size, period, offset, lo, hi int64) {
	t.Helper()
	if n := int64(len(ws)); n < lo || n > hi {
		t.Fatalf("ts %d, size %d, period %d: %d windows, want %d to %d", ts, size, period, n, lo, hi)
	}
	for i, w := range ws {
		if !w.valid() || !w.Contains(ts) {
			t.Fatalf("ts %d: window %v is empty or misses it", ts, w)
		}
		if w.Start != math.MinInt64 && sinceStart(w.Start, offset, period) != 0 {
			t.Fatalf("ts %d: window %v not on a boundary of period %d offset %d", ts, w, period, offset)
		}
		length := uint64(w.End) - uint64(w.Start) // exact even past MaxInt64
		saturated := w.Start == math.MinInt64 || w.End == math.MaxInt64
		if length > uint64(size) || (!saturated && length != uint64(size)) {
			t.Fatalf("ts %d: window %v is not %d long", ts, w, size)
		}
		if slices.Contains(ws[:i], w) {
			t.Fatalf("ts %d: window %v twice", ts, w)
		}
	}
}

// sessionModel is the obvious set of sessions: disjoint intervals, where
// an added one absorbs every interval it touches.
type sessionModel []Window

func (m *sessionModel) add(w Window) Window {
	for i := 0; i < len(*m); {
		if (*m)[i].Intersects(w) {
			w = w.Cover((*m)[i])
			*m = slices.Delete(*m, i, i+1)
			i = 0 // the wider w may touch an earlier one
			continue
		}
		i++
	}
	*m = append(*m, w)
	slices.SortFunc(*m, func(a, b Window) int { return int(a.Start - b.Start) })
	return w
}

// FuzzMergingSet runs adds and removes of small windows (three bytes an
// operation) on a MergingSet and on the model, and checks after each that
// the sessions are the same (so they stay disjoint and cover every window
// added), that merge calls name exactly the absorbed windows and their
// state windows, and that a snapshot restores to the same set.
func FuzzMergingSet(f *testing.F) {
	f.Add([]byte{0, 0, 4, 0, 10, 4, 0, 4, 5, 2, 0, 0, 0, 30, 2})
	f.Add([]byte{0, 5, 1, 0, 7, 1, 0, 6, 0, 1, 250, 7, 2, 1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 600 {
			data = data[:600] // longer runs find nothing new, only slowly
		}
		s, model := NewMergingSet(), sessionModel{}
		for ; len(data) >= 3; data = data[3:] {
			if data[0]%3 == 2 {
				fuzzRemove(t, s, &model, int(data[1]))
			} else {
				start := int64(int8(data[1]))
				fuzzAdd(t, s, &model, Window{start, start + int64(data[2]%8) + 1})
			}
			checkSet(t, s)
			wantWindows(t, windowsOf(s), model...)
			r := NewMergingSet()
			if err := r.Restore(s.Snapshot()); err != nil || !slices.Equal(r.Snapshot(), s.Snapshot()) {
				t.Fatalf("restore: %v, %v != %v", err, r.Snapshot(), s.Snapshot())
			}
		}
	})
}

func fuzzAdd(t *testing.T, s *MergingSet, model *sessionModel, w Window) {
	t.Helper()
	before := s.Snapshot()
	got, err := s.Add(w, func(result Window, merged []Window, stateResult Window, stateMerged []Window) error {
		var states []Window
		for _, p := range before {
			if p.Window.Intersects(w) {
				if !slices.Contains(merged, p.Window) {
					t.Fatalf("add %v: merged %v lacks %v", w, merged, p.Window)
				}
				states = append(states, p.State)
			}
		}
		if len(merged) != len(states) || !slices.Equal(append([]Window{stateResult}, stateMerged...), states) {
			t.Fatalf("add %v: merged %v, states %v <- %v, want states %v", w, merged, stateResult, stateMerged, states)
		}
		return nil
	})
	if want := model.add(w); err != nil || got != want {
		t.Fatalf("Add(%v) = %v, %v; want %v", w, got, err, want)
	}
}

func fuzzRemove(t *testing.T, s *MergingSet, model *sessionModel, i int) {
	t.Helper()
	if len(*model) == 0 {
		return
	}
	w := (*model)[i%len(*model)]
	*model = slices.DeleteFunc(*model, func(m Window) bool { return m == w })
	if !s.Remove(w) {
		t.Fatalf("Remove(%v) = false", w)
	}
}
