package watermark

import (
	"slices"
	"testing"
)

// timerModel is the obvious queue: a slice kept in firing order, where a
// new timer goes after every timer of the same or an earlier time.
type timerModel []Timer[int]

func (m *timerModel) register(k int, ts int64) bool {
	t := Timer[int]{k, ts}
	if slices.Contains(*m, t) {
		return false
	}
	i := len(*m)
	for i > 0 && (*m)[i-1].Time > ts {
		i--
	}
	*m = slices.Insert(*m, i, t)
	return true
}

func (m *timerModel) delete(k int, ts int64) bool {
	i := slices.Index(*m, Timer[int]{k, ts})
	if i < 0 {
		return false
	}
	*m = slices.Delete(*m, i, i+1)
	return true
}

func (m *timerModel) popUpTo(ts int64) []Timer[int] {
	i := 0
	for i < len(*m) && (*m)[i].Time <= ts {
		i++
	}
	fired := slices.Clone((*m)[:i])
	*m = (*m)[i:]
	return fired
}

func (m *timerModel) popNext(ts int64) (Timer[int], bool) {
	if len(*m) == 0 || (*m)[0].Time > ts {
		return Timer[int]{}, false
	}
	t := (*m)[0]
	*m = (*m)[1:]
	return t, true
}

// queueUnderTest is what the fuzz test drives: a TimerQueue or a
// GroupedTimerQueue, and how to restore it from All.
type queueUnderTest interface {
	Register(k int, ts int64) bool
	RegisterNew(k int, ts int64)
	Delete(k int, ts int64) bool
	Contains(k int, ts int64) bool
	Len() int
	PeekTime() (int64, bool)
	PopUpTo(ts int64, fn func(int, int64)) int
	PopNext(ts int64) (Timer[int], bool)
	All() []Timer[int]
}

// FuzzTimerQueue runs operations of three bytes each (operation, key,
// time, both in small ranges so that duplicates and ties are common) on a
// queue and on the model, and compares them after each.
func FuzzTimerQueue(f *testing.F) {
	addTimerSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzQueue(t, data, NewTimerQueue[int](), func(q queueUnderTest) queueUnderTest { return RestoreTimerQueue(q.All()) })
	})
}

// FuzzGroupedTimerQueue is FuzzTimerQueue for a GroupedTimerQueue whose
// groups are keys by fours, so that groups hold several timers.
func FuzzGroupedTimerQueue(f *testing.F) {
	addTimerSeeds(f)
	f.Add([]byte{0, 1, 5, 2, 1, 5, 0, 1, 9, 0, 2, 7, 3, 0, 8, 3, 0, 31})
	f.Add([]byte{0, 4, 9, 0, 5, 3, 2, 5, 3, 0, 5, 12, 2, 4, 9, 0, 4, 12, 5, 0, 20, 5, 0, 20})
	group := func(k int) int { return k / 4 }
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzQueue(t, data, NewGroupedTimerQueue[int](group), func(q queueUnderTest) queueUnderTest {
			r := NewGroupedTimerQueue[int](group)
			for _, t := range q.All() {
				r.Register(t.Key, t.Time)
			}
			return r
		})
	})
}

func addTimerSeeds(f *testing.F) {
	f.Add([]byte{0, 1, 5, 0, 2, 5, 0, 1, 5, 2, 1, 5, 3, 0, 9})
	f.Add([]byte{0, 1, 5, 1, 2, 3, 4, 0, 0, 0, 3, 5, 3, 0, 4})
}

func fuzzQueue(t *testing.T, data []byte, q queueUnderTest, restore func(queueUnderTest) queueUnderTest) {
	m := &timerModel{}
	for i := 0; i+2 < len(data); i += 3 {
		k, ts := int(data[i+1]%16), int64(data[i+2]%32)
		switch data[i] % 8 {
		case 0, 1:
			if got, want := q.Register(k, ts), m.register(k, ts); got != want {
				t.Fatalf("op %d: Register(%d, %d) = %v, want %v", i, k, ts, got, want)
			}
		case 2:
			if got, want := q.Delete(k, ts), m.delete(k, ts); got != want {
				t.Fatalf("op %d: Delete(%d, %d) = %v, want %v", i, k, ts, got, want)
			}
		case 3:
			var fired []Timer[int]
			q.PopUpTo(ts, func(k int, ts int64) { fired = append(fired, Timer[int]{k, ts}) })
			if want := m.popUpTo(ts); !slices.Equal(fired, want) {
				t.Fatalf("op %d: PopUpTo(%d) fired %v, want %v", i, ts, fired, want)
			}
		case 4:
			q = restore(q)
		case 5:
			got, gotOK := q.PopNext(ts)
			if want, ok := m.popNext(ts); got != want || gotOK != ok {
				t.Fatalf("op %d: PopNext(%d) = %v, %v; want %v, %v", i, ts, got, gotOK, want, ok)
			}
		case 6:
			if got, want := q.Contains(k, ts), slices.Contains(*m, Timer[int]{k, ts}); got != want {
				t.Fatalf("op %d: Contains(%d, %d) = %v, want %v", i, k, ts, got, want)
			}
		case 7: // as a window operator does: only for a timer it knows is not registered
			if !q.Contains(k, ts) {
				q.RegisterNew(k, ts)
				m.register(k, ts)
			}
		}
		checkTimers(t, i, q, *m)
	}
}

func checkTimers(t *testing.T, op int, q queueUnderTest, m timerModel) {
	t.Helper()
	if q.Len() != len(m) {
		t.Fatalf("op %d: Len() = %d, want %d", op, q.Len(), len(m))
	}
	if ts, ok := q.PeekTime(); ok != (len(m) > 0) || (ok && ts != m[0].Time) {
		t.Fatalf("op %d: PeekTime() = %d, %v; model %v", op, ts, ok, m)
	}
	if all := q.All(); !slices.Equal(all, m) {
		t.Fatalf("op %d: All() = %v, want %v", op, all, m)
	}
}
