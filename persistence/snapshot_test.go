package persistence

import (
	"bytes"
	"maps"
	"slices"
	"testing"
)

// allStates registers one state of each kind on b.
type allStates struct {
	v *ValueState[int]
	l *ListState[string]
	m *MapState[string, int]
	r *ReducingState[int]
	a *AggregatingState[int, float64]
}

func registerAll(t testing.TB, b Backend[string]) *allStates {
	t.Helper()
	return &allStates{
		v: must(Value(b, ValueDescriptor[int]{Name: "v", Codec: intCodec{}})),
		l: must(List(b, ListDescriptor[string]{Name: "l", Codec: stringCodec{}})),
		m: must(Map(b, MapDescriptor[string, int]{Name: "m", KeyCodec: stringCodec{}, ValueCodec: intCodec{}})),
		r: must(Reducing(b, ReducingDescriptor[int]{Name: "r", Codec: intCodec{},
			Reduce: func(a, b int) int { return a + b }})),
		a: must(Aggregating(b, sumDescriptor("a"))),
	}
}

// fill writes, for each key, entries derived from the key into every state.
func (s *allStates) fill(b Backend[string], keys []string) {
	for _, k := range keys {
		i := keyIndex(k)
		b.SetCurrentKey(k)
		s.v.Update(i)
		s.l.AddAll([]string{k, k + "!"})
		s.m.Put(k, i)
		s.m.Put("x", -i)
		s.r.Add(i)
		s.r.Add(1)
		s.a.Add(i)
		s.a.Add(i + 2)
	}
}

// check fails t unless b holds what fill wrote for keys, and nothing else.
func (s *allStates) check(t testing.TB, b Backend[string], keys []string) {
	t.Helper()
	for _, k := range keys {
		i := keyIndex(k)
		b.SetCurrentKey(k)
		v, _ := s.v.Value()
		r, _ := s.r.Get()
		a, _ := s.a.Get()
		l := s.l.Get()
		m := maps.Collect(s.m.All())
		if v != i || r != i+1 || a != float64(i+1) || !slices.Equal(l, []string{k, k + "!"}) ||
			!maps.Equal(m, map[string]int{k: i, "x": -i}) {
			t.Errorf("key %s: got v %d, r %d, a %v, l %v, m %v", k, v, r, a, l, m)
		}
	}
	if got, want := b.Entries(), 5*len(keys); got != want {
		t.Errorf("Entries = %d, want %d", got, want)
	}
}

// roundTrip marshals and unmarshals a snapshot.
func roundTrip(t testing.TB, s *KeyedSnapshot) *KeyedSnapshot {
	t.Helper()
	return must(UnmarshalKeyedSnapshot(must(s.MarshalBinary())))
}

func TestHeapBackend_Snapshot_roundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		keys := keysIn(40, Range{0, testMaxPar})
		src := nb(t, Range{}, nil)
		registerAll(t, src).fill(src, keys)
		snap := roundTrip(t, must(src.Snapshot()))
		for _, order := range []string{"registerFirst", "restoreFirst"} {
			t.Run(order, func(t *testing.T) {
				dst := nb(t, Range{}, nil)
				var s *allStates
				if order == "registerFirst" {
					s = registerAll(t, dst)
				}
				if err := dst.Restore(snap); err != nil {
					t.Fatal(err)
				}
				if s == nil {
					s = registerAll(t, dst)
				}
				s.check(t, dst, keys)
			})
		}
	})
}

// subtaskRanges splits testMaxPar key groups over p subtasks as
// operators.KeyGroupRange does.
func subtaskRanges(p int) []Range {
	rs := make([]Range, p)
	for i := range rs {
		rs[i] = Range{(i*testMaxPar + p - 1) / p, ((i+1)*testMaxPar + p - 1) / p}
	}
	return rs
}

func TestHeapBackend_Restore_rescale(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		keys := keysIn(60, Range{0, testMaxPar})
		for _, tt := range []struct{ from, to int }{{1, 3}, {3, 2}, {2, 5}, {4, 1}} {
			t.Run("", func(t *testing.T) {
				var snaps []*KeyedSnapshot
				for _, r := range subtaskRanges(tt.from) {
					b := nb(t, r, nil)
					registerAll(t, b).fill(b, keysIn(60, r))
					snaps = append(snaps, roundTrip(t, must(b.Snapshot())))
				}
				total := 0
				for _, r := range subtaskRanges(tt.to) {
					b := nb(t, r, nil)
					if err := b.Restore(snaps...); err != nil {
						t.Fatal(err)
					}
					registerAll(t, b).check(t, b, keysIn(60, r))
					total += len(b.Keys("v"))
				}
				if total != len(keys) {
					t.Errorf("%d → %d: %d keys after restore, want %d", tt.from, tt.to, total, len(keys))
				}
			})
		}
	})
}

func TestHeapBackend_Snapshot_pendingKept(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		keys := keysIn(20, Range{0, testMaxPar})
		src := nb(t, Range{}, nil)
		registerAll(t, src).fill(src, keys)
		mid := nb(t, Range{}, nil)
		if err := mid.Restore(must(src.Snapshot())); err != nil {
			t.Fatal(err)
		}
		v := must(Value(mid, ValueDescriptor[int]{Name: "v", Codec: intCodec{}}))
		if got := mid.Entries(); got != len(keys) {
			t.Errorf("Entries = %d, want %d: only registered states count", got, len(keys))
		}
		mid.SetCurrentKey(keys[0])
		v.Update(100)
		dst := nb(t, Range{}, nil)
		if err := dst.Restore(roundTrip(t, must(mid.Snapshot()))); err != nil {
			t.Fatal(err)
		}
		s := registerAll(t, dst)
		dst.SetCurrentKey(keys[0])
		s.v.Update(keyIndex(keys[0])) // undo the change above so that check applies
		s.check(t, dst, keys)
	})
}

func TestHeapBackend_Snapshot_isCopy(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		b := nb(t, Range{}, nil)
		s := registerAll(t, b)
		keys := keysIn(10, Range{0, testMaxPar})
		s.fill(b, keys)
		snap := must(b.Snapshot())
		before := must(snap.MarshalBinary())
		s.fill(b, keys[:5])
		b.SetCurrentKey(keys[6])
		s.l.Clear()
		s.m.Put("new", 1)
		if after := must(snap.MarshalBinary()); !bytes.Equal(before, after) {
			t.Error("changing state after Snapshot changed the snapshot")
		}
	})
}

func TestHeapBackend_Restore_failureChangesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		keys := keysIn(10, Range{0, testMaxPar})
		b := nb(t, Range{}, nil)
		s := registerAll(t, b)
		s.fill(b, keys)
		other := nb(t, Range{}, nil)
		must(List(other, ListDescriptor[int]{Name: "v", Codec: intCodec{}})).Add(1) // "v" as a list
		err := b.Restore(must(other.Snapshot()))
		wantErr(t, err, ErrIncompatible, `"v"`, "list", "value")
		s.check(t, b, keys)
	})
}
