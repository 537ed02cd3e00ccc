package persistence

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// canonical returns a snapshot's records per key group, each encoded on
// its own and sorted: the order of records within a key group is not
// part of the format (but that of a list's elements is, and a list's
// elements differ here).
func canonical(t testing.TB, s *KeyedSnapshot) map[int][]string {
	t.Helper()
	out := make(map[int][]string)
	for kg, data := range s.Groups {
		err := parseGroup("test", data, kg, nil, func(r record) error {
			out[kg] = append(out[kg], string(appendRecord(nil, &r)))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(out[kg])
	}
	return out
}

func wantSameSnapshot(t testing.TB, got, want *KeyedSnapshot) {
	t.Helper()
	if got.MaxParallelism != want.MaxParallelism ||
		!maps.EqualFunc(canonical(t, got), canonical(t, want), slices.Equal) {
		t.Errorf("snapshots differ:\n got %v\nwant %v", canonical(t, got), canonical(t, want))
	}
}

func TestBoltBackend_Restore_fromHeapAndBack(t *testing.T) {
	keys := keysIn(60, Range{0, testMaxPar})
	heap := newBackend(t, Range{}, nil)
	registerAll(t, heap).fill(heap, keys)
	heapSnap := roundTrip(t, must(heap.Snapshot()))

	bolt := newBoltBackend(t, Range{}, nil, 7)
	if err := bolt.Restore(heapSnap); err != nil {
		t.Fatal(err)
	}
	boltSnap := roundTrip(t, must(bolt.Snapshot())) // restored entries still pending
	wantSameSnapshot(t, boltSnap, heapSnap)
	registerAll(t, bolt).check(t, bolt, keys)
	wantSameSnapshot(t, roundTrip(t, must(bolt.Snapshot())), heapSnap)

	back := newBackend(t, Range{}, nil)
	if err := back.Restore(boltSnap); err != nil {
		t.Fatal(err)
	}
	registerAll(t, back).check(t, back, keys)
	wantSameSnapshot(t, must(back.Snapshot()), heapSnap)
}

// TestBoltBackend_Restore_rescaleMixed takes snapshots of heap and bbolt
// subtasks alike and restores them into the other kind at another
// parallelism.
func TestBoltBackend_Restore_rescaleMixed(t *testing.T) {
	keys := keysIn(80, Range{0, testMaxPar})
	var snaps []*KeyedSnapshot
	for i, r := range subtaskRanges(3) {
		b := backendKinds[i%2].new(t, r, nil)
		registerAll(t, b).fill(b, keysIn(80, r))
		snaps = append(snaps, roundTrip(t, must(b.Snapshot())))
	}
	total := 0
	for i, r := range subtaskRanges(2) {
		b := backendKinds[1-i%2].new(t, r, nil)
		if err := b.Restore(snaps...); err != nil {
			t.Fatal(err)
		}
		registerAll(t, b).check(t, b, keysIn(80, r))
		total += len(b.Keys("v"))
	}
	if total != len(keys) {
		t.Errorf("%d keys after restore, want %d", total, len(keys))
	}
}

func TestBoltBackend_largerThanCache(t *testing.T) {
	const n, cache = 3000, 50
	b := newBoltBackend(t, Range{}, nil, cache)
	v := must(Value(b, ValueDescriptor[int]{Name: "v", Codec: intCodec{}}))
	l := must(List(b, ListDescriptor[int]{Name: "l", Codec: intCodec{}}))
	m := must(Map(b, MapDescriptor[int, int]{Name: "m", KeyCodec: intCodec{}, ValueCodec: intCodec{}}))
	key := func(i int) string { return "key" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + itoa(i) }
	for round := range 2 {
		for i := range n {
			b.SetCurrentKey(key(i))
			old, _ := v.Value()
			v.Update(old + i)
			l.Add(round)
			m.Put(round, i)
			if b.cached > cache+3 {
				t.Fatalf("cache holds %d entries, bound %d", b.cached, cache)
			}
		}
	}
	for i := range n {
		b.SetCurrentKey(key(i))
		got, _ := v.Value()
		if got != 2*i || !slices.Equal(l.Get(), []int{0, 1}) || m.Len() != 2 {
			t.Fatalf("key %d: value %d, list %v, map %v", i, got, l.Get(), maps.Collect(m.All()))
		}
	}
	if got := b.Entries(); got != 3*n {
		t.Errorf("Entries = %d, want %d", got, 3*n)
	}
	heap := newBackend(t, Range{}, nil)
	if err := heap.Restore(must(b.Snapshot())); err != nil {
		t.Fatal(err)
	}
	if got := len(heap.pending["v"]); got != n {
		t.Errorf("heap restored %d values, want %d", got, n)
	}
}

func itoa(i int) string { return string(must(intCodec{}.Append(nil, i))) }

// TestBoltBackend_TTL_sweep checks that flushes remove expired entries
// from the file, not only hide them.
func TestBoltBackend_TTL_sweep(t *testing.T) {
	c := newClock()
	b := newBoltBackend(t, Range{}, c, 0)
	v := must(Value(b, ValueDescriptor[int]{Name: "v", Codec: intCodec{}, TTL: TTLConfig{TTL: 10}}))
	for i := range 100 {
		b.SetCurrentKey(testKey(i))
		v.Update(i)
	}
	must(0, b.Flush())
	c.advance(10)
	b.SetCurrentKey("live")
	v.Update(1)
	must(0, b.Flush())
	n := 0
	b.scan("v", nil, func(_, _ []byte) { n++ })
	if n != 1 {
		t.Errorf("file holds %d entries, want 1", n)
	}
}

func TestNewBoltBackend_config(t *testing.T) {
	dir := t.TempDir()
	kg := func(string) int { return 0 }
	tests := []struct {
		name  string
		cfg   BackendConfig[string]
		field string
	}{
		{"noKeyCodec", BackendConfig[string]{MaxParallelism: 4, KeyGroupOf: kg}, "BackendConfig.KeyCodec"},
		{"maxPar", BackendConfig[string]{MaxParallelism: 1 << 17, KeyGroupOf: kg, KeyCodec: stringCodec{}},
			"BackendConfig.MaxParallelism"},
		{"cache", BackendConfig[string]{MaxParallelism: 4, KeyGroupOf: kg, KeyCodec: stringCodec{}, CacheEntries: -1},
			"BackendConfig.CacheEntries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewBoltBackend(tt.cfg, filepath.Join(dir, tt.name+".db"))
			wantErr(t, err, ErrConfig, tt.field)
		})
	}
}

func TestBoltBackend_register_codecsRequired(t *testing.T) {
	b := newBoltBackend(t, Range{}, nil, 0)
	tests := []struct {
		name  string
		reg   func() error
		field string
	}{
		{"value", func() error { _, err := Value(b, ValueDescriptor[int]{Name: "v"}); return err }, "ValueDescriptor.Codec"},
		{"list", func() error { _, err := List(b, ListDescriptor[int]{Name: "l"}); return err }, "ListDescriptor.Codec"},
		{"mapKey", func() error {
			_, err := Map(b, MapDescriptor[int, int]{Name: "m", ValueCodec: intCodec{}})
			return err
		}, "MapDescriptor.KeyCodec"},
		{"mapValue", func() error {
			_, err := Map(b, MapDescriptor[int, int]{Name: "m", KeyCodec: intCodec{}})
			return err
		}, "MapDescriptor.ValueCodec"},
		{"aggregating", func() error {
			d := sumDescriptor("a")
			d.AccCodec = nil
			_, err := Aggregating(b, d)
			return err
		}, "AggregatingDescriptor.AccCodec"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, tt.reg(), ErrConfig, tt.field, "bbolt")
		})
	}
}

func TestNewBoltBackend_corruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "corrupt.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a bbolt file ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := NewBoltBackend(BackendConfig[string]{MaxParallelism: testMaxPar, KeyGroupOf: keyGroupOf,
		KeyCodec: stringCodec{}}, path)
	wantErr(t, err, ErrStorage, path)
}

func TestNewBoltBackend_fileInUse(t *testing.T) {
	b := newBoltBackend(t, Range{}, nil, 0)
	start := time.Now()
	_, err := NewBoltBackend(b.cfg, b.Path())
	wantErr(t, err, ErrStorage, b.Path())
	if d := time.Since(start); d > 10*boltOpenTimeout {
		t.Errorf("took %v to fail", d)
	}
}

func TestBoltBackend_closed(t *testing.T) {
	b := newBoltBackend(t, Range{}, nil, 0)
	v := must(Value(b, ValueDescriptor[int]{Name: "v", Codec: intCodec{}}))
	b.SetCurrentKey("a")
	v.Update(1)
	for range 2 {
		if err := b.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	_, err := b.Snapshot()
	wantErr(t, err, ErrClosed, b.Path())
	wantErr(t, b.Restore(), ErrClosed, b.Path())
	b.SetCurrentKey("b")
	if _, ok := v.Value(); ok {
		t.Error("closed backend returned a value")
	}
	wantErr(t, b.Err(), ErrClosed, b.Path())
	_, err = List(b, ListDescriptor[int]{Name: "l", Codec: intCodec{}})
	wantErr(t, err, ErrClosed, b.Path())
}

func TestBoltBackend_existingFileEmptied(t *testing.T) {
	b := newBoltBackend(t, Range{}, nil, 0)
	must(Value(b, ValueDescriptor[int]{Name: "v", Codec: intCodec{}})).Update(1)
	must(0, b.Flush())
	must(0, b.Close())
	again := must(NewBoltBackend(b.cfg, b.Path()))
	defer again.Close()
	must(Value(again, ValueDescriptor[int]{Name: "v", Codec: intCodec{}}))
	if n := again.Entries(); n != 0 {
		t.Errorf("reopened file has %d entries, want 0", n)
	}
}
