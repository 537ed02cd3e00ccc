package persistence

import (
	"maps"
	"slices"
	"testing"
	"time"
)

// ttlStep is one step of a TTL scenario: advance the clock, then act.
type ttlStep struct {
	at   time.Duration // since the start
	op   string        // "write", or "read" which checks want
	want bool          // read: whether a value is visible
}

func TestValueState_TTL(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		tests := []struct {
			name  string
			ttl   TTLConfig
			steps []ttlStep
		}{
			{"createAndWrite", TTLConfig{TTL: 10},
				[]ttlStep{{0, "write", false}, {9, "read", true}, {10, "read", false}}},
			{"writeRefreshes", TTLConfig{TTL: 10},
				[]ttlStep{{0, "write", false}, {8, "write", false}, {17, "read", true}, {18, "read", false}}},
			{"readDoesNotRefresh", TTLConfig{TTL: 10},
				[]ttlStep{{0, "write", false}, {9, "read", true}, {12, "read", false}}},
			{"readRefreshes", TTLConfig{TTL: 10, Update: OnReadAndWrite},
				[]ttlStep{{0, "write", false}, {9, "read", true}, {18, "read", true}, {28, "read", false}}},
			{"returnExpiredOnce", TTLConfig{TTL: 10, Visibility: ReturnExpiredIfNotCleanedUp},
				[]ttlStep{{0, "write", false}, {15, "read", true}, {15, "read", false}}},
			{"off", TTLConfig{},
				[]ttlStep{{0, "write", false}, {1 << 40, "read", true}}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := newClock()
				start := c.t
				b := nb(t, Range{}, c)
				s := must(Value(b, ValueDescriptor[int]{Name: "v", Codec: intCodec{}, TTL: tt.ttl}))
				for i, st := range tt.steps {
					c.t = start.Add(st.at)
					if st.op == "write" {
						s.Update(i)
						continue
					}
					if _, ok := s.Value(); ok != st.want {
						t.Errorf("step %d at %v: visible %v, want %v", i, st.at, ok, st.want)
					}
				}
			})
		}
	})
}

// Adding to a reducing or aggregating state whose value has expired
// folds into that value if the visibility returns expired values (it
// has not been cleaned up), as Flink's TTL reduce and aggregate
// functions do, and starts afresh if it hides them.
func TestReducingState_TTL_addToExpired(t *testing.T) {
	for _, tt := range []struct {
		name string
		vis  TTLVisibility
		want int
	}{
		{"neverReturnExpired", NeverReturnExpired, 2},
		{"returnExpiredIfNotCleanedUp", ReturnExpiredIfNotCleanedUp, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, nb newFunc) {
				c := newClock()
				b := nb(t, Range{}, c)
				ttl := TTLConfig{TTL: 10, Visibility: tt.vis}
				r := must(Reducing(b, ReducingDescriptor[int]{Name: "r", Codec: intCodec{}, Reduce: func(a, b int) int { return a + b }, TTL: ttl}))
				a := must(Aggregating(b, AggregatingDescriptor[int, int, int]{Name: "a", AccCodec: intCodec{}, TTL: ttl,
					Create: func() int { return 0 }, Add: func(acc, v int) int { return acc + v }, Result: func(acc int) int { return acc }}))
				r.Add(1)
				a.Add(1)
				c.advance(10)
				r.Add(2)
				a.Add(2)
				rv, _ := r.Get()
				av, _ := a.Get()
				if rv != tt.want || av != tt.want {
					t.Errorf("visibility %v: reducing %d, aggregating %d after adding 2 to an expired 1; want %d", tt.vis, rv, av, tt.want)
				}
				c.advance(9)
				if v, ok := r.Get(); !ok || v != tt.want {
					t.Errorf("visibility %v: reducing %d, %v 9 after the Add; want %d: the Add writes a fresh timestamp", tt.vis, v, ok, tt.want)
				}
			})
		})
	}
}

func TestListState_TTL_perElement(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		c := newClock()
		b := nb(t, Range{}, c)
		s := must(List(b, ListDescriptor[string]{Name: "l", Codec: stringCodec{}, TTL: TTLConfig{TTL: 10}}))
		s.Add("a")
		c.advance(5)
		s.Add("b")
		c.advance(5)
		if got := s.Get(); !slices.Equal(got, []string{"b"}) {
			t.Errorf("at 10: Get = %v, want [b]", got)
		}
		c.advance(5)
		if got := s.Get(); got != nil {
			t.Errorf("at 15: Get = %v, want nil", got)
		}
		if b.Entries() != 0 {
			t.Errorf("Entries = %d, want 0", b.Entries())
		}
	})
}

func TestListState_TTL_returnExpiredAndRefresh(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		c := newClock()
		b := nb(t, Range{}, c)
		s := must(List(b, ListDescriptor[string]{Name: "l", Codec: stringCodec{},
			TTL: TTLConfig{TTL: 10, Update: OnReadAndWrite, Visibility: ReturnExpiredIfNotCleanedUp}}))
		s.Add("a")
		c.advance(5)
		s.Add("b")
		c.advance(5)
		if got := s.Get(); !slices.Equal(got, []string{"a", "b"}) {
			t.Errorf("at 10: Get = %v, want expired a returned once, and b", got)
		}
		c.advance(9)
		if got := s.Get(); !slices.Equal(got, []string{"b"}) {
			t.Errorf("at 19: Get = %v, want [b] (refreshed at 10)", got)
		}
	})
}

func TestMapState_TTL_perUserKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		c := newClock()
		b := nb(t, Range{}, c)
		s := must(Map(b, MapDescriptor[string, int]{Name: "m", KeyCodec: stringCodec{}, ValueCodec: intCodec{}, TTL: TTLConfig{TTL: 10}}))
		s.Put("x", 1)
		c.advance(5)
		s.Put("y", 2)
		c.advance(5)
		if s.Contains("x") || !s.Contains("y") || s.Len() != 1 {
			t.Errorf("at 10: want y only, Len %d", s.Len())
		}
		if got := maps.Collect(s.All()); !maps.Equal(got, map[string]int{"y": 2}) {
			t.Errorf("at 10: All = %v, want y:2", got)
		}
		c.advance(5)
		if _, ok := s.Get("y"); ok || len(b.Keys("m")) != 0 {
			t.Errorf("at 15: y visible or key kept (Keys %v)", b.Keys("m"))
		}
	})
}

func TestMapState_TTL_readRefreshes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		c := newClock()
		b := nb(t, Range{}, c)
		s := must(Map(b, MapDescriptor[string, int]{Name: "m", KeyCodec: stringCodec{}, ValueCodec: intCodec{}, TTL: TTLConfig{TTL: 10, Update: OnReadAndWrite}}))
		s.Put("x", 1)
		s.Put("y", 2)
		c.advance(9)
		for range s.All() {
		}
		c.advance(9)
		if s.Len() != 2 {
			t.Errorf("Len = %d, want 2: All refreshes what it yields", s.Len())
		}
	})
}

// TestHeapBackend_TTL_incrementalCleanup checks that accesses to one key
// remove other keys' expired entries: each access examines two keys, at
// most one of which (the accessed one) is live, so 100 accesses suffice.
func TestHeapBackend_TTL_incrementalCleanup(t *testing.T) {
	c := newClock()
	b := newBackend(t, Range{}, c)
	ttl := TTLConfig{TTL: 10}
	v := must(Value(b, ValueDescriptor[int]{Name: "v", Codec: intCodec{}, TTL: ttl}))
	l := must(List(b, ListDescriptor[int]{Name: "l", Codec: intCodec{}, TTL: ttl}))
	m := must(Map(b, MapDescriptor[int, int]{Name: "m", KeyCodec: intCodec{}, ValueCodec: intCodec{}, TTL: ttl}))
	for i := range 100 {
		b.SetCurrentKey(testKey(i))
		v.Update(i)
		l.Add(i)
		m.Put(i, i)
	}
	c.advance(10)
	b.SetCurrentKey("live")
	for i := range 100 {
		v.Update(i)
		l.Add(i)
		m.Put(i, i)
	}
	for name, r := range b.states {
		if n := stored(r.t); n != 1 {
			t.Errorf("state %q stores %d keys, want 1", name, n)
		}
	}
}

// stored returns the number of keys a table holds, expired or not.
func stored(t table[string]) int {
	switch t := t.(type) {
	case *scalarTable[string, int]:
		return len(t.m)
	case *listTable[string, int]:
		return len(t.m)
	case *mapTable[string, int, int]:
		return len(t.m)
	}
	panic("unknown table type")
}

func TestHeapBackend_TTL_expiredNotCountedNorSnapshotted(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		c := newClock()
		b := nb(t, Range{}, c)
		s := must(Value(b, ValueDescriptor[int]{Name: "v", Codec: intCodec{}, TTL: TTLConfig{TTL: 10}}))
		b.SetCurrentKey("old")
		s.Update(1)
		c.advance(5)
		b.SetCurrentKey("new")
		s.Update(2)
		c.advance(5)
		if got := b.Keys("v"); !slices.Equal(got, []string{"new"}) || b.Entries() != 1 {
			t.Errorf("Keys = %v, Entries = %d, want [new] and 1", got, b.Entries())
		}
		snap := must(b.Snapshot())
		b2 := nb(t, Range{}, c)
		if err := b2.Restore(snap); err != nil {
			t.Fatal(err)
		}
		must(Value(b2, ValueDescriptor[int]{Name: "v", Codec: intCodec{}, TTL: TTLConfig{TTL: 10}}))
		if got := b2.Keys("v"); !slices.Equal(got, []string{"new"}) {
			t.Errorf("restored Keys = %v, want [new]", got)
		}
	})
}

func TestHeapBackend_Restore_TTL(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		c := newClock()
		ttl := TTLConfig{TTL: 10}
		src := nb(t, Range{}, c)
		withTTL := must(Value(src, ValueDescriptor[int]{Name: "ttl", Codec: intCodec{}, TTL: ttl}))
		noTTL := must(Value(src, ValueDescriptor[int]{Name: "plain", Codec: intCodec{}}))
		withTTL.Update(1)
		noTTL.Update(2)
		c.advance(5)
		snap := must(src.Snapshot())
		dst := nb(t, Range{}, c)
		if err := dst.Restore(snap); err != nil {
			t.Fatal(err)
		}
		a := must(Value(dst, ValueDescriptor[int]{Name: "ttl", Codec: intCodec{}, TTL: ttl}))
		p := must(Value(dst, ValueDescriptor[int]{Name: "plain", Codec: intCodec{}, TTL: ttl}))
		c.advance(5)
		if _, ok := a.Value(); ok {
			t.Error("restored entry outlived its timestamp")
		}
		if _, ok := p.Value(); !ok {
			t.Error("entry written without TTL expired before its TTL from restore")
		}
	})
}
