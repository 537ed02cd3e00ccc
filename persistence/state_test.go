package persistence

import (
	"maps"
	"slices"
	"testing"
)

func TestValueState_UpdateValueClear(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		b := nb(t, Range{}, nil)
		s := must(Value(b, ValueDescriptor[int]{Name: "v", Codec: intCodec{}}))
		b.SetCurrentKey("a")
		if v, ok := s.Value(); ok {
			t.Fatalf("empty state: got %d, want none", v)
		}
		s.Update(1)
		b.SetCurrentKey("b")
		s.Update(2)
		b.SetCurrentKey("a")
		if v, ok := s.Value(); !ok || v != 1 {
			t.Errorf("key a: got %d, %v, want 1", v, ok)
		}
		s.Clear()
		if _, ok := s.Value(); ok {
			t.Error("key a after Clear: got a value")
		}
		b.SetCurrentKey("b")
		if v, ok := s.Value(); !ok || v != 2 {
			t.Errorf("key b: got %d, %v, want 2", v, ok)
		}
	})
}

func TestListState_ops(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		b := nb(t, Range{}, nil)
		s := must(List(b, ListDescriptor[int]{Name: "l", Codec: intCodec{}}))
		b.SetCurrentKey("a")
		steps := []struct {
			name string
			do   func()
			want []int
		}{
			{"empty", func() {}, nil},
			{"Add", func() { s.Add(1) }, []int{1}},
			{"AddAll", func() { s.AddAll([]int{2, 3}) }, []int{1, 2, 3}},
			{"AddAllEmpty", func() { s.AddAll(nil) }, []int{1, 2, 3}},
			{"Update", func() { s.Update([]int{7, 8}) }, []int{7, 8}},
			{"Clear", func() { s.Clear() }, nil},
			{"AddAfterClear", func() { s.Add(4) }, []int{4}},
			{"UpdateEmpty", func() { s.Update(nil) }, nil},
		}
		for _, st := range steps {
			st.do()
			if got := s.Get(); !slices.Equal(got, st.want) || (got == nil) != (st.want == nil) {
				t.Errorf("after %s: Get() = %v, want %v", st.name, got, st.want)
			}
		}
		if keys := b.Keys("l"); len(keys) != 0 {
			t.Errorf("Keys after emptying = %v, want none", keys)
		}
	})
}

func TestListState_Get_copySafe(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		b := nb(t, Range{}, nil)
		s := must(List(b, ListDescriptor[int]{Name: "l", Codec: intCodec{}}))
		in := []int{1, 2}
		s.Update(in)
		in[0] = 9
		got := s.Get()
		got[1] = 9
		if again := s.Get(); !slices.Equal(again, []int{1, 2}) {
			t.Errorf("state changed through caller slices: %v, want [1 2]", again)
		}
	})
}

func TestMapState_ops(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		b := nb(t, Range{}, nil)
		s := must(Map(b, MapDescriptor[string, int]{Name: "m", KeyCodec: stringCodec{}, ValueCodec: intCodec{}}))
		b.SetCurrentKey("a")
		s.Put("x", 1)
		s.Put("y", 2)
		s.Put("x", 3)
		b.SetCurrentKey("b")
		s.Put("z", 9)
		b.SetCurrentKey("a")
		if v, ok := s.Get("x"); !ok || v != 3 {
			t.Errorf(`Get("x") = %d, %v, want 3`, v, ok)
		}
		if s.Contains("z") || !s.Contains("y") {
			t.Error(`Contains: want "y" and not "z" (another key's)`)
		}
		if got := maps.Collect(s.All()); !maps.Equal(got, map[string]int{"x": 3, "y": 2}) {
			t.Errorf("All = %v, want x:3 y:2", got)
		}
		if s.Len() != 2 {
			t.Errorf("Len = %d, want 2", s.Len())
		}
		s.Remove("x")
		s.Remove("nope")
		s.Remove("y")
		if s.Len() != 0 || slices.Contains(b.Keys("m"), "a") {
			t.Errorf("after removing all: Len %d, Keys %v, want 0 and no a", s.Len(), b.Keys("m"))
		}
		b.SetCurrentKey("b")
		s.Clear()
		if got := b.Entries(); got != 0 {
			t.Errorf("Entries after Clear = %d, want 0", got)
		}
	})
}

func TestMapState_All_mutateWhileIterating(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		b := nb(t, Range{}, nil)
		s := must(Map(b, MapDescriptor[int, int]{Name: "m", KeyCodec: intCodec{}, ValueCodec: intCodec{}}))
		b.SetCurrentKey("a")
		for i := range 10 {
			s.Put(i, i)
		}
		for k := range s.All() {
			s.Remove(k)
		}
		if s.Len() != 0 || len(b.Keys("m")) != 0 {
			t.Errorf("after removing while iterating: Len %d, Keys %v", s.Len(), b.Keys("m"))
		}
	})
}

func TestMapState_All_breakEarly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		b := nb(t, Range{}, nil)
		s := must(Map(b, MapDescriptor[int, int]{Name: "m", KeyCodec: intCodec{}, ValueCodec: intCodec{}}))
		s.Put(1, 1)
		s.Put(2, 2)
		n := 0
		for range s.All() {
			n++
			break
		}
		if n != 1 || s.Len() != 2 {
			t.Errorf("break after %d entries left Len %d, want 1 and 2", n, s.Len())
		}
	})
}

func TestReducingState_Add(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		b := nb(t, Range{}, nil)
		s := must(Reducing(b, ReducingDescriptor[int]{Name: "r", Codec: intCodec{}, Reduce: func(a, b int) int { return a*10 + b }}))
		b.SetCurrentKey("a")
		if _, ok := s.Get(); ok {
			t.Fatal("empty state has a value")
		}
		for _, v := range []int{1, 2, 3} {
			s.Add(v)
		}
		if v, ok := s.Get(); !ok || v != 123 {
			t.Errorf("Get = %d, %v, want 123 (reduced in order)", v, ok)
		}
		s.Clear()
		s.Add(5)
		if v, _ := s.Get(); v != 5 {
			t.Errorf("after Clear and Add(5): %d, want 5", v)
		}
	})
}

func TestAggregatingState_Add(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		b := nb(t, Range{}, nil)
		s := must(Aggregating(b, sumDescriptor("avg")))
		b.SetCurrentKey("a")
		if _, ok := s.Get(); ok {
			t.Fatal("empty state has a value")
		}
		s.Add(1)
		s.Add(4)
		b.SetCurrentKey("b")
		s.Add(10)
		b.SetCurrentKey("a")
		if v, ok := s.Get(); !ok || v != 2.5 {
			t.Errorf("Get = %v, %v, want 2.5", v, ok)
		}
		s.Clear()
		if _, ok := s.Get(); ok {
			t.Error("Get after Clear has a value")
		}
	})
}

// FuzzMapState_model runs operations of three bytes each (operation, key,
// user key) on a map state of the heap backend and on a map of maps, and
// compares them after each: the map state caches the current key's map
// between accesses, which removing a key's last entry, Clear, a restore
// and other keys' changes must not leave stale.
func FuzzMapState_model(f *testing.F) {
	f.Add([]byte{0, 1, 1, 2, 1, 1, 0, 1, 2, 4, 0, 0, 3, 1, 0, 0, 2, 2})
	f.Add([]byte{0, 0, 0, 2, 0, 0, 0, 0, 0, 5, 0, 0, 1, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		b := newBackend(t, Range{}, nil)
		s := must(Map(b, MapDescriptor[string, int]{Name: "m", KeyCodec: stringCodec{}, ValueCodec: intCodec{}}))
		model := map[string]map[string]int{}
		keys := []string{"a", "b", "c"}
		cur := ""
		b.SetCurrentKey(cur)
		for i := 0; i+2 < len(data); i += 3 {
			k, uk := keys[int(data[i+1])%len(keys)], keys[int(data[i+2])%len(keys)]
			switch data[i] % 6 {
			case 0:
				cur = k
				b.SetCurrentKey(cur)
			case 1:
				s.Put(uk, i)
				if model[cur] == nil {
					model[cur] = map[string]int{}
				}
				model[cur][uk] = i
			case 2:
				s.Remove(uk)
				delete(model[cur], uk)
				if len(model[cur]) == 0 {
					delete(model, cur)
				}
			case 3:
				s.Clear()
				delete(model, cur)
			case 4: // another key changes, then this one is read again
				b.SetCurrentKey(k)
				s.Put(uk, -i)
				if model[k] == nil {
					model[k] = map[string]int{}
				}
				model[k][uk] = -i
				b.SetCurrentKey(cur)
			case 5:
				snap := must(b.Snapshot())
				if err := b.Restore(snap); err != nil {
					t.Fatal(err)
				}
				b.SetCurrentKey(cur)
			}
			if got := maps.Collect(s.All()); !maps.Equal(got, model[cur]) && len(got)+len(model[cur]) > 0 {
				t.Fatalf("op %d: key %q holds %v, want %v", i, cur, got, model[cur])
			}
			for _, uk := range keys {
				v, ok := s.Get(uk)
				if w, wok := model[cur][uk]; ok != wok || v != w {
					t.Fatalf("op %d: Get(%q) of key %q = %d, %v; want %d, %v", i, uk, cur, v, ok, w, wok)
				}
			}
			if s.Len() != len(model[cur]) || len(b.Keys("m")) != len(model) {
				t.Fatalf("op %d: Len %d, keys %v; model %v", i, s.Len(), b.Keys("m"), model)
			}
		}
	})
}
