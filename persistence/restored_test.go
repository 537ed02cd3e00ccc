package persistence

import (
	"maps"
	"slices"
	"testing"
)

// restoredFixture is a snapshot of map states "w/a" and "w/b", value
// state "w/v" and map state "other", each of keys "ka" and "kb" holding
// user keys "x" and "y" (value: 1).
func restoredFixture(t *testing.T) *KeyedSnapshot {
	t.Helper()
	src := newBackend(t, Range{}, nil)
	for _, name := range []string{"w/a", "w/b", "other"} {
		m := must(Map(src, MapDescriptor[string, int]{Name: name, KeyCodec: stringCodec{}, ValueCodec: intCodec{}}))
		for _, k := range []string{"ka", "kb"} {
			src.SetCurrentKey(k)
			m.Put("x", 1)
			m.Put("y", 1)
		}
	}
	v := must(Value(src, ValueDescriptor[int]{Name: "w/v", Codec: intCodec{}}))
	for _, k := range []string{"ka", "kb"} {
		src.SetCurrentKey(k)
		v.Update(1)
	}
	return roundTrip(t, must(src.Snapshot()))
}

// userKeys returns, by key, the sorted user keys of map state name of b,
// registering it.
func userKeys(t *testing.T, b Backend[string], name string) map[string][]string {
	t.Helper()
	m := must(Map(b, MapDescriptor[string, int]{Name: name, KeyCodec: stringCodec{}, ValueCodec: intCodec{}}))
	out := make(map[string][]string)
	for _, k := range []string{"ka", "kb"} {
		b.SetCurrentKey(k)
		out[k] = slices.Sorted(maps.Keys(maps.Collect(m.All())))
	}
	return out
}

// DropRestored removes the current key's matching entries of the
// unregistered map states of the prefix, and nothing else: not other
// keys, user keys, prefixes, kinds, nor registered states; the entries
// dropped are gone from snapshots and from the state once registered,
// and after a restore of such a snapshot.
func TestDropRestored(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		b := nb(t, Range{}, nil)
		if err := b.Restore(restoredFixture(t)); err != nil {
			t.Fatal(err)
		}
		before := userKeys(t, b, "w/b") // registered: DropRestored leaves it alone
		b.SetCurrentKey("ka")
		var seen []string
		err := DropRestored(b, "w/", func(state string, uk []byte) bool {
			seen = append(seen, state+":"+string(uk))
			return string(uk) == "x"
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(seen) // the order of the calls is not part of the contract
		if want := []string{"w/a:x", "w/a:y"}; !slices.Equal(seen, want) {
			t.Errorf("drop called with %q, want %q (the unregistered map states of the prefix, of the current key)", seen, want)
		}
		again := nb(t, Range{}, nil)
		if err := again.Restore(roundTrip(t, must(b.Snapshot()))); err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{"ka": {"y"}, "kb": {"x", "y"}}
		for _, got := range []Backend[string]{b, again} {
			if m := userKeys(t, got, "w/a"); !maps.EqualFunc(m, want, slices.Equal) {
				t.Errorf("w/a after the drop: %v, want %v", m, want)
			}
			all := map[string][]string{"ka": {"x", "y"}, "kb": {"x", "y"}}
			if m := userKeys(t, got, "other"); !maps.EqualFunc(m, all, slices.Equal) {
				t.Errorf("other (not of the prefix): %v, want %v", m, all)
			}
		}
		if after := userKeys(t, b, "w/b"); !maps.EqualFunc(after, before, slices.Equal) {
			t.Errorf("registered w/b changed: %v, was %v", after, before)
		}
	})
}

// Without restored states of the prefix, DropRestored does nothing and
// never calls drop.
func TestDropRestored_nothingRestored(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		b := nb(t, Range{}, nil)
		b.SetCurrentKey("ka")
		err := DropRestored(b, "w/", func(string, []byte) bool {
			t.Error("drop called without restored state")
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
