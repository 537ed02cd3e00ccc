package persistence

import (
	"slices"
	"testing"
	"time"
)

func TestNewHeapBackend_config(t *testing.T) {
	kg := func(string) int { return 0 }
	tests := []struct {
		name  string
		cfg   BackendConfig[string]
		field string // "" if valid
	}{
		{"valid", BackendConfig[string]{MaxParallelism: 4, KeyGroupOf: kg}, ""},
		{"validRange", BackendConfig[string]{MaxParallelism: 4, KeyGroups: Range{1, 3}, KeyGroupOf: kg}, ""},
		{"noMaxPar", BackendConfig[string]{KeyGroupOf: kg}, "MaxParallelism"},
		{"negMaxPar", BackendConfig[string]{MaxParallelism: -1, KeyGroupOf: kg}, "MaxParallelism"},
		{"noKeyGroupOf", BackendConfig[string]{MaxParallelism: 4}, "KeyGroupOf"},
		{"rangePastEnd", BackendConfig[string]{MaxParallelism: 4, KeyGroups: Range{2, 5}, KeyGroupOf: kg}, "KeyGroups"},
		{"rangeEmpty", BackendConfig[string]{MaxParallelism: 4, KeyGroups: Range{2, 2}, KeyGroupOf: kg}, "KeyGroups"},
		{"rangeNegative", BackendConfig[string]{MaxParallelism: 4, KeyGroups: Range{-1, 2}, KeyGroupOf: kg}, "KeyGroups"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewHeapBackend(tt.cfg)
			if tt.field == "" {
				if err != nil || b == nil {
					t.Fatalf("got %v, want a backend", err)
				}
				return
			}
			wantErr(t, err, ErrConfig, "BackendConfig."+tt.field)
		})
	}
}

func TestNewHeapBackend_defaults(t *testing.T) {
	b := must(NewHeapBackend(BackendConfig[int]{MaxParallelism: 4, KeyGroupOf: func(int) int { return 0 }}))
	if b.cfg.KeyGroups != (Range{0, 4}) {
		t.Errorf("KeyGroups = %v, want [0, 4)", b.cfg.KeyGroups)
	}
	if b.cfg.Now == nil {
		t.Error("Now is nil, want time.Now")
	}
}

func TestRange_ContainsLen(t *testing.T) {
	r := Range{2, 5}
	for kg, want := range map[int]bool{1: false, 2: true, 4: true, 5: false} {
		if got := r.Contains(kg); got != want {
			t.Errorf("%v.Contains(%d) = %v, want %v", r, kg, got, want)
		}
	}
	if r.Len() != 3 || (Range{5, 2}).Len() != 0 {
		t.Errorf("Len: got %d and %d, want 3 and 0", r.Len(), (Range{5, 2}).Len())
	}
}

func TestValue_register_sameState(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		b := nb(t, Range{}, nil)
		d := ValueDescriptor[int]{Name: "v", Codec: intCodec{}}
		s1 := must(Value(b, d))
		s2 := must(Value(b, d))
		if s1 != s2 {
			t.Error("registering the same state twice returned two states")
		}
	})
}

func TestValue_register_conflicts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		b := nb(t, Range{}, nil)
		must(Value(b, ValueDescriptor[int]{Name: "s", Codec: intCodec{}}))
		tests := []struct {
			name string
			reg  func() error
		}{
			{"otherType", func() error { _, err := Value(b, ValueDescriptor[string]{Name: "s", Codec: stringCodec{}}); return err }},
			{"otherTTL", func() error {
				_, err := Value(b, ValueDescriptor[int]{Name: "s", Codec: intCodec{}, TTL: TTLConfig{TTL: time.Second}})
				return err
			}},
			{"list", func() error { _, err := List(b, ListDescriptor[int]{Name: "s", Codec: intCodec{}}); return err }},
			{"map", func() error {
				_, err := Map(b, MapDescriptor[int, int]{Name: "s", KeyCodec: intCodec{}, ValueCodec: intCodec{}})
				return err
			}},
			{"reducing", func() error {
				_, err := Reducing(b, ReducingDescriptor[int]{Name: "s", Codec: intCodec{}, Reduce: func(a, b int) int { return a + b }})
				return err
			}},
			{"aggregating", func() error { _, err := Aggregating(b, sumDescriptor("s")); return err }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantErr(t, tt.reg(), ErrStateExists, `"s"`, "value state")
			})
		}
	})
}

// sumDescriptor sums ints and reads as their average.
func sumDescriptor(name string) AggregatingDescriptor[int, avgAcc, float64] {
	return AggregatingDescriptor[int, avgAcc, float64]{
		Name: name, AccCodec: avgCodec{},
		Create: func() avgAcc { return avgAcc{} },
		Add:    func(a avgAcc, in int) avgAcc { return avgAcc{a.Sum + in, a.N + 1} },
		Result: func(a avgAcc) float64 { return float64(a.Sum) / float64(a.N) },
	}
}

type avgAcc struct{ Sum, N int }

type avgCodec struct{}

func (avgCodec) Append(dst []byte, a avgAcc) ([]byte, error) {
	dst, _ = intCodec{}.Append(dst, a.Sum)
	return append(dst, byte(a.N)), nil
}

func (avgCodec) Decode(b []byte) (avgAcc, error) {
	if len(b) < 2 {
		return avgAcc{}, ErrCorrupt
	}
	sum, err := intCodec{}.Decode(b[:len(b)-1])
	return avgAcc{sum, int(b[len(b)-1])}, err
}

func TestValue_register_invalidDescriptor(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		b := nb(t, Range{}, nil)
		sum := func(a, b int) int { return a + b }
		agg := sumDescriptor("a")
		noCreate, noAdd, noResult := agg, agg, agg
		noCreate.Create, noAdd.Add, noResult.Result = nil, nil, nil
		tests := []struct {
			name  string
			reg   func() error
			parts []string
		}{
			{"valueName", func() error { _, err := Value(b, ValueDescriptor[int]{Codec: intCodec{}}); return err },
				[]string{"ValueDescriptor.Name"}},
			{"listName", func() error { _, err := List(b, ListDescriptor[int]{Codec: intCodec{}}); return err },
				[]string{"ListDescriptor.Name"}},
			{"mapName", func() error {
				_, err := Map(b, MapDescriptor[int, int]{KeyCodec: intCodec{}, ValueCodec: intCodec{}})
				return err
			},
				[]string{"MapDescriptor.Name"}},
			{"reduceNil", func() error { _, err := Reducing(b, ReducingDescriptor[int]{Name: "r", Codec: intCodec{}}); return err },
				[]string{`"r"`, "ReducingDescriptor.Reduce"}},
			{"reduceName", func() error {
				_, err := Reducing(b, ReducingDescriptor[int]{Codec: intCodec{}, Reduce: sum})
				return err
			},
				[]string{"ReducingDescriptor.Name"}},
			{"createNil", func() error { _, err := Aggregating(b, noCreate); return err },
				[]string{`"a"`, "AggregatingDescriptor.Create"}},
			{"addNil", func() error { _, err := Aggregating(b, noAdd); return err },
				[]string{"AggregatingDescriptor.Add"}},
			{"resultNil", func() error { _, err := Aggregating(b, noResult); return err },
				[]string{"AggregatingDescriptor.Result"}},
			{"ttlNegative", func() error {
				_, err := Value(b, ValueDescriptor[int]{Name: "v", Codec: intCodec{}, TTL: TTLConfig{TTL: -1}})
				return err
			}, []string{`"v"`, "ValueDescriptor.TTL.TTL"}},
			{"ttlUpdate", func() error {
				_, err := List(b, ListDescriptor[int]{Name: "l", Codec: intCodec{}, TTL: TTLConfig{Update: 7}})
				return err
			}, []string{"ListDescriptor.TTL.Update"}},
			{"ttlVisibility", func() error {
				_, err := Map(b, MapDescriptor[int, int]{Name: "m", KeyCodec: intCodec{}, ValueCodec: intCodec{}, TTL: TTLConfig{Visibility: 7}})
				return err
			}, []string{"MapDescriptor.TTL.Visibility"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantErr(t, tt.reg(), ErrConfig, tt.parts...)
			})
		}
		if names := registered(b, "v", "l", "m", "r", "a"); len(names) != 0 {
			t.Errorf("states %v registered by invalid descriptors", names)
		}
	})
}

func TestHeapBackend_EntriesKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		b := nb(t, Range{}, nil)
		v := must(Value(b, ValueDescriptor[int]{Name: "v", Codec: intCodec{}}))
		l := must(List(b, ListDescriptor[int]{Name: "l", Codec: intCodec{}}))
		m := must(Map(b, MapDescriptor[string, int]{Name: "m", KeyCodec: stringCodec{}, ValueCodec: intCodec{}}))
		for _, k := range []string{"a", "b", "c"} {
			b.SetCurrentKey(k)
			v.Update(1)
			l.AddAll([]int{1, 2, 3})
		}
		b.SetCurrentKey("a")
		m.Put("x", 1)
		m.Put("y", 2)
		if got := b.CurrentKey(); got != "a" {
			t.Errorf("CurrentKey = %q, want a", got)
		}
		if got := b.Entries(); got != 7 {
			t.Errorf("Entries = %d, want 7 (3 value + 3 list + 1 map)", got)
		}
		keys := b.Keys("l")
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"a", "b", "c"}) {
			t.Errorf(`Keys("l") = %v, want [a b c]`, keys)
		}
		if got := b.Keys("nope"); got != nil {
			t.Errorf(`Keys("nope") = %v, want nil`, got)
		}
	})
}
