package operators

import (
	"maps"
	"slices"
	"testing"

	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/persistence"
)

// newTestContents returns window contents of int keys and int64
// accumulators over a fresh heap backend: in memory (heapContents) or in
// the map state (stateContents).
func newTestContents(t testing.TB, inMemory bool) windowContents[int, int64] {
	t.Helper()
	b, err := persistence.NewHeapBackend(persistence.BackendConfig[int]{MaxParallelism: 8,
		KeyGroupOf: func(k int) int { return k % 8 }, KeyCodec: JSONCodec[int]{}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := persistence.Map(b, persistence.MapDescriptor[window.Window, int64]{Name: "window-contents",
		KeyCodec: windowCodec{}, ValueCodec: JSONCodec[int64]{}})
	if err != nil {
		t.Fatal(err)
	}
	if inMemory {
		return &heapContents[int, int64]{m: make(map[int]*keyWindows[int64]), b: b, st: st}
	}
	return &stateContents[int, int64]{b: b, st: st}
}

// FuzzWindowContents runs operations of three bytes each (operation,
// key, window: 40 windows, so that a key passes windowScan and is
// indexed) on the in-memory contents and on the map state, and compares
// them after each; a snapshot's round trip (toState, then a restore into
// fresh contents with fromState) must keep them equal.
func FuzzWindowContents(f *testing.F) {
	f.Add([]byte{0, 1, 0, 1, 1, 3, 2, 1, 3, 1, 0, 3, 3, 0, 0})
	seed := []byte{}
	for w := range byte(20) {
		seed = append(seed, 1, 2, w)
	}
	f.Add(append(seed, 2, 2, 3, 2, 2, 19, 4, 0, 0, 2, 2, 7))
	f.Fuzz(func(t *testing.T, data []byte) {
		mem, st := newTestContents(t, true), newTestContents(t, false)
		both := []windowContents[int, int64]{mem, st}
		for i := 0; i+2 < len(data); i += 3 {
			k, w := int(data[i+1]%3), window.Window{Start: int64(data[i+2] % 40), End: 100}
			for _, c := range both {
				switch data[i] % 5 {
				case 0:
					c.(interface {
						backend() persistence.Backend[int]
					}).backend().SetCurrentKey(k)
					c.setKey(k)
				case 1:
					p, _ := c.acc(w)
					*p += int64(i) + 1
					c.done(w)
				case 2:
					c.remove(w)
				case 3:
					c.put(w, int64(i))
				case 4:
					c.toState()() // a snapshot leaves the contents as they were
				}
			}
			compareContents(t, i, mem, st)
		}
		// A snapshot of the in-memory contents restores into fresh ones.
		b := mem.(interface {
			backend() persistence.Backend[int]
		}).backend()
		undo := mem.toState()
		snap, err := b.Snapshot()
		undo()
		if err != nil {
			t.Fatal(err)
		}
		restored := newTestContents(t, true)
		rb := restored.(interface {
			backend() persistence.Backend[int]
		}).backend()
		if err := rb.Restore(snap); err != nil {
			t.Fatal(err)
		}
		restored.fromState()
		compareContents(t, len(data), restored, st)
	})
}

func (c *heapContents[K, Acc]) backend() persistence.Backend[K]  { return c.b }
func (c *stateContents[K, Acc]) backend() persistence.Backend[K] { return c.b }

// compareContents fails unless a and b hold the same entries.
func compareContents(t *testing.T, op int, a, b windowContents[int, int64]) {
	t.Helper()
	if a.entries() != b.entries() {
		t.Fatalf("op %d: %d entries, want %d", op, a.entries(), b.entries())
	}
	ka, kb := a.keys(), b.keys()
	slices.Sort(ka)
	slices.Sort(kb)
	if !slices.Equal(ka, kb) {
		t.Fatalf("op %d: keys %v, want %v", op, ka, kb)
	}
	ba, bb := a.(interface {
		backend() persistence.Backend[int]
	}).backend(), b.(interface {
		backend() persistence.Backend[int]
	}).backend()
	curA, curB := ba.CurrentKey(), bb.CurrentKey()
	for _, k := range ka {
		ba.SetCurrentKey(k)
		a.setKey(k)
		bb.SetCurrentKey(k)
		b.setKey(k)
		got, want := map[window.Window]int64{}, map[window.Window]int64{}
		for _, w := range a.windows() {
			got[w], _ = a.get(w)
		}
		for _, w := range b.windows() {
			want[w], _ = b.get(w)
		}
		if !maps.Equal(got, want) {
			t.Fatalf("op %d: key %d holds %v, want %v", op, k, got, want)
		}
	}
	ba.SetCurrentKey(curA)
	a.setKey(curA)
	bb.SetCurrentKey(curB)
	b.setKey(curB)
}
