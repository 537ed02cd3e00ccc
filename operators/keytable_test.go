package operators

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// checkKeyTable feeds keys to a table and to a Go map and checks that
// every key gets one dense index, the same each time it comes, in the
// order keys first came.
func checkKeyTable[K comparable](t *testing.T, keys []K) {
	t.Helper()
	tab := newKeyTable[K]()
	want := map[K]int{}
	for n, k := range keys {
		i, found := tab.index(k)
		wi, wfound := want[k]
		if !wfound {
			wi = len(want)
			want[k] = wi
		}
		if i != wi || found != wfound {
			t.Fatalf("key %v (the %d-th given): index %d found %v, want %d found %v", k, n, i, found, wi, wfound)
		}
	}
	if tab.len() != len(want) {
		t.Fatalf("len %d, want %d", tab.len(), len(want))
	}
	for k, i := range want {
		if got := tab.key(i); got != k {
			t.Fatalf("key(%d) = %v, want %v", i, got, k)
		}
	}
}

type namedID int64

func TestKeyTable_indexesEveryKeyTypeAsAMapWould(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 20000
	i64, i32, u64, named, strs, u16 := make([]int64, n), make([]int32, n), make([]uint64, n), make([]namedID, n), make([]string, n), make([]uint16, n)
	for i := range n {
		// Few distinct keys among many repeats, and extremes that
		// collide in their low or high bits.
		v := rng.Int64N(3000)
		if i%7 == 0 {
			v = int64(rng.Uint64())
		}
		i64[i], i32[i], u64[i], named[i], strs[i], u16[i] = v, int32(v), uint64(v)<<32, namedID(-v), fmt.Sprint(v), uint16(v)
	}
	extremes := []int64{0, -1, 1, 1 << 62, -1 << 63, 1<<63 - 1, 16, 32, 48, 1 << 32, 2 << 32}
	t.Run("int64", func(t *testing.T) { checkKeyTable(t, append(extremes, i64...)) })
	t.Run("int32", func(t *testing.T) { checkKeyTable(t, i32) })
	t.Run("uint64 with equal low bits", func(t *testing.T) { checkKeyTable(t, u64) })
	t.Run("named int64", func(t *testing.T) { checkKeyTable(t, named) })
	t.Run("string", func(t *testing.T) { checkKeyTable(t, strs) })
	t.Run("uint16 (through a map)", func(t *testing.T) { checkKeyTable(t, u16) })
	t.Run("float64 (through a map: -0 equals 0)", func(t *testing.T) { checkKeyTable(t, []float64{0, 1.5, -1.5, 0}) })
}

func TestKeyTable_widths(t *testing.T) {
	for _, tc := range []struct {
		got, want uint8
	}{
		{newKeyTable[int64]().width, 8}, {newKeyTable[int]().width, uint8(strconv.IntSize / 8)}, {newKeyTable[uint32]().width, 4},
		{newKeyTable[namedID]().width, 8}, {newKeyTable[float64]().width, 0}, {newKeyTable[string]().width, 0},
		{newKeyTable[int16]().width, 0}, {newKeyTable[[2]int32]().width, 0},
	} {
		if tc.got != tc.want {
			t.Errorf("width %d, want %d", tc.got, tc.want)
		}
	}
}

func TestKeyTable_resetForgetsEveryKey(t *testing.T) {
	for _, tab := range []keyTable[int64]{newKeyTable[int64]()} {
		for k := range int64(100) {
			tab.index(k)
		}
		tab.reset()
		if tab.len() != 0 {
			t.Fatalf("len %d after reset", tab.len())
		}
		for k := range int64(100) {
			if i, found := tab.index(99 - k); found || i != int(k) {
				t.Fatalf("key %d after reset: index %d found %v, want %d and new", 99-k, i, found, k)
			}
		}
	}
	s := newKeyTable[string]()
	s.index("a")
	s.reset()
	if i, found := s.index("b"); found || i != 0 || s.len() != 1 {
		t.Fatalf("string table after reset: index %d found %v len %d", i, found, s.len())
	}
}

func FuzzKeyTable(f *testing.F) {
	f.Add([]byte{1, 2, 3, 1, 2, 3, 255, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		keys := make([]int64, 0, len(data)/2)
		for i := 0; i+1 < len(data); i += 2 {
			// Spread over the bits that pick a slot (the top) and
			// those that do not (the bottom).
			keys = append(keys, int64(data[i])<<56|int64(data[i+1]))
		}
		checkKeyTable(t, keys)
	})
}

// BenchmarkKeyTable: the keyed reduce's access pattern (1,000 int64 keys
// in turn, a running sum each) through the key table and, in the same
// run, through the Go map of pointers it replaced; map-ratio is the
// map's time over the table's.
func BenchmarkKeyTable(b *testing.B) {
	type rec struct{ Key, Value int64 }
	var table, goMap float64
	for range b.N {
		table += timeIt(func() {
			tab, vals := newKeyTable[int64](), []rec(nil)
			for i := range int64(1 << 20) {
				r := rec{Key: i % 1000, Value: i}
				if j, ok := tab.index(r.Key); ok {
					vals[j].Value += r.Value
				} else {
					vals = append(vals, r)
				}
			}
		})
		goMap += timeIt(func() {
			m := map[int64]*rec{}
			for i := range int64(1 << 20) {
				r := rec{Key: i % 1000, Value: i}
				if acc, ok := m[r.Key]; ok {
					acc.Value += r.Value
				} else {
					p := new(rec)
					*p = r
					m[r.Key] = p
				}
			}
		})
	}
	b.ReportMetric(goMap/table, "map-ratio")
	b.ReportMetric(table/float64(b.N)/(1<<20)*1e9, "table-ns/key")
	b.ReportMetric(goMap/float64(b.N)/(1<<20)*1e9, "map-ns/key")
}

// timeIt returns how long fn took, in seconds.
func timeIt(fn func()) float64 {
	start := time.Now()
	fn()
	return time.Since(start).Seconds()
}
